//! The one table of PostgREST's own error codes (`Error.hs`, its `ErrorCode` and `status`
//! functions, and the "Errors" page of its documentation): each `PGRST…` code with the HTTP
//! status PostgREST answers it with. Errors are built from these variants only; PostgreSQL
//! errors keep their SQLSTATE and take their status from `sqlstate_status`.

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = ($code:literal, $status:literal),)*) => {
        /// A `PGRST…` error code of the REST service.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            #[cfg(test)]
            pub(crate) const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire code (`PGRST…`).
            pub(crate) fn code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status PostgREST answers the code with.
            pub(crate) fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    // Group 0: connection.
    /// The database cannot be reached.
    DbConnection = ("PGRST000", 503),
    /// The connection broke while in use.
    DbClient = ("PGRST001", 503),
    /// The schema cache is not loaded yet.
    SchemaCacheNotLoaded = ("PGRST002", 503),
    /// No pool connection became free in time.
    PoolTimeout = ("PGRST003", 504),

    // Group 1: the request.
    /// The query string does not parse.
    QueryParse = ("PGRST100", 400),
    /// A method other than GET, HEAD or POST on `/rpc`.
    RpcMethod = ("PGRST101", 405),
    /// The body is not what the request needs.
    InvalidBody = ("PGRST102", 400),
    /// `Range` / `offset` past the rows.
    RangeNotSatisfiable = ("PGRST103", 416),
    /// PUT filters that are not exactly `eq` on the primary key.
    PutFilters = ("PGRST105", 405),
    /// `Accept-Profile` / `Content-Profile` names a schema that is not exposed.
    InvalidSchema = ("PGRST106", 406),
    /// No acceptable response media type.
    MediaTypeNotAvailable = ("PGRST107", 406),
    /// A modifier addresses an embed that the select does not have.
    NotEmbedded = ("PGRST108", 400),
    /// `response.headers` is not a list of single-key objects.
    ResponseHeadersGuc = ("PGRST111", 500),
    /// `response.status` is not a status code.
    ResponseStatusGuc = ("PGRST112", 500),
    /// `limit`/`offset` on PUT.
    PutLimit = ("PGRST114", 400),
    /// PUT payload and URL disagree on the primary key.
    PutMismatch = ("PGRST115", 400),
    /// A single object was requested and the result has another number of rows.
    SingularityError = ("PGRST116", 406),
    /// The method is not supported on the resource.
    UnsupportedMethod = ("PGRST117", 405),
    /// An order on an embed that is not to-one.
    RelatedOrderNotToOne = ("PGRST118", 400),
    /// A filter on an embed other than `is.null` / `not.is.null`.
    EmbedFilter = ("PGRST120", 400),
    /// `RAISE SQLSTATE 'PGRST'` with a MESSAGE or DETAIL that is not JSON.
    RaiseParse = ("PGRST121", 500),
    /// Unknown preferences with `handling=strict`.
    InvalidPreferences = ("PGRST122", 400),
    /// Aggregates are disabled.
    AggregatesDisabled = ("PGRST123", 400),
    /// More rows affected than `max-affected` allows.
    MaxAffected = ("PGRST124", 400),
    /// A path that is neither `/relation` nor `/rpc/function`.
    InvalidPath = ("PGRST125", 404),
    /// A feature PostgREST does not implement.
    NotImplemented = ("PGRST127", 400),
    /// `max-affected` with `handling=strict` on a function that does not return a set.
    MaxAffectedNotSetof = ("PGRST128", 400),

    // Group 2: the schema cache.
    /// No relationship for an embed.
    RelationshipNotFound = ("PGRST200", 400),
    /// More than one relationship for an embed.
    AmbiguousRelationship = ("PGRST201", 300),
    /// No function for a call.
    FunctionNotFound = ("PGRST202", 404),
    /// More than one overload for a call.
    AmbiguousFunction = ("PGRST203", 300),
    /// A payload column the relation does not have.
    ColumnNotFound = ("PGRST204", 400),
    /// No such relation.
    TableNotFound = ("PGRST205", 404),

    // Group 3: authentication.
    /// A key or token that does not verify.
    InvalidToken = ("PGRST301", 401),
    /// No key while anonymous access is disabled.
    AnonymousDisabled = ("PGRST302", 401),
    /// A token whose claims are refused (expired, wrong audience, …).
    InvalidClaims = ("PGRST303", 401),

    // Ours, in PostgREST's style.
    /// The body exceeds the configured limit.
    PayloadTooLarge = ("PGRST413", 413),
    /// An unexpected failure (opaque to the client, logged in full).
    Internal = ("PGRSTX00", 500),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_valid() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "{} twice", code.code());
            assert!(code.code().starts_with("PGRST"));
            assert!(axum::http::StatusCode::from_u16(code.status()).is_ok());
        }
        assert_eq!(ErrorCode::ALL.len(), 38);
    }
}

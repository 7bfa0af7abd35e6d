//! The char primitives of parsec's `Text.Parsec.Char` (`satisfy`, `char`, `string`,
//! `oneOf`, `noneOf`, `anyChar`, `letter`, `digit`) and `eof` from
//! `Text.Parsec.Combinator`, over the chars of one `P.parse` input.

use super::{label, many, map, Failed, Msg, PErr, Parsed, Reply};
use crate::show::{show_char, show_string};

/// The input of one `P.parse` call, as chars (parsec's `String` stream).
pub(crate) struct Input<'a> {
    chars: &'a [char],
    /// False for the fast first pass: primitives then fail without messages.
    messages: bool,
}

impl<'a> Input<'a> {
    /// Wrap the chars of the text being parsed; `messages` says whether errors carry the
    /// messages needed to render them.
    pub(crate) fn new(chars: &'a [char], messages: bool) -> Self {
        Input { chars, messages }
    }

    /// An error at `pos` holding the message(s) `msg` builds, or a silent one.
    pub(crate) fn error(&self, pos: usize, msg: impl FnOnce() -> Msg) -> PErr {
        if self.messages {
            PErr::new(pos, msg())
        } else {
            PErr::silent(pos)
        }
    }

    /// `satisfy pred` (no label): `unexpected "c"` or `unexpected end of input`.
    pub(crate) fn satisfy(&self, pos: usize, pred: impl FnOnce(char) -> bool) -> Reply<char> {
        match self.chars.get(pos) {
            None => Err(Failed {
                err: self.error(pos, || Msg::SysUnExpect(String::new())),
                consumed: false,
            }),
            Some(&c) if pred(c) => Ok(Parsed {
                val: c,
                pos: pos + 1,
                consumed: true,
                err: PErr::unknown(pos + 1),
            }),
            Some(&c) => Err(Failed {
                err: self.error(pos, || Msg::SysUnExpect(show_string(&c.to_string()))),
                consumed: false,
            }),
        }
    }

    /// `char c` (`satisfy (== c) <?> show [c]`).
    pub(crate) fn char_(&self, pos: usize, c: char) -> Reply<char> {
        match self.satisfy(pos, |x| x == c) {
            // Only an empty failure shows the label; build it only then.
            Err(f) if !f.consumed && self.messages => label(Err(f), &show_string(&c.to_string())),
            other => other,
        }
    }

    /// `oneOf cs`.
    pub(crate) fn one_of(&self, pos: usize, set: &str) -> Reply<char> {
        self.satisfy(pos, |x| set.contains(x))
    }

    /// `noneOf cs`.
    pub(crate) fn none_of(&self, pos: usize, set: &str) -> Reply<char> {
        self.satisfy(pos, |x| !set.contains(x))
    }

    /// `anyChar`.
    pub(crate) fn any_char(&self, pos: usize) -> Reply<char> {
        self.satisfy(pos, |_| true)
    }

    /// `letter` (Haskell's `isAlpha`; Rust's `is_alphabetic` is a little broader).
    pub(crate) fn letter(&self, pos: usize) -> Reply<char> {
        label(self.satisfy(pos, char::is_alphabetic), "letter")
    }

    /// `digit` (ASCII only, like Haskell's `isDigit`).
    pub(crate) fn digit(&self, pos: usize) -> Reply<char> {
        label(self.satisfy(pos, |c| c.is_ascii_digit()), "digit")
    }

    /// `string s`: fails *consumed* when only a prefix matched, and reports the error at
    /// the start of the string with the first mismatching char as unexpected.
    pub(crate) fn string(&self, pos: usize, s: &str) -> Reply<()> {
        let mut at = pos;
        for (i, want) in s.chars().enumerate() {
            let unexpected = match self.chars.get(at) {
                Some(&c) if c == want => {
                    at += 1;
                    continue;
                }
                Some(&c) if self.messages => show_string(&c.to_string()),
                _ => String::new(),
            };
            let mut err = self.error(pos, || Msg::SysUnExpect(unexpected));
            if self.messages {
                err.msgs.insert(0, Msg::Expect(show_string(s)));
            }
            return Err(Failed {
                err,
                consumed: i > 0,
            });
        }
        Ok(Parsed {
            val: (),
            pos: at,
            consumed: at > pos,
            err: PErr::unknown(at),
        })
    }

    /// `eof` (`notFollowedBy anyToken <?> "end of input"`; anyToken does not advance the
    /// position, so the error sits on the unexpected char itself).
    pub(crate) fn eof(&self, pos: usize) -> Reply<()> {
        match self.chars.get(pos) {
            Some(&c) => {
                let mut err = self.error(pos, || Msg::UnExpect(show_char(c)));
                if self.messages {
                    err.msgs.insert(0, Msg::Expect("end of input".to_string()));
                }
                Err(Failed {
                    err,
                    consumed: false,
                })
            }
            None => {
                let mut err = self.error(pos, || Msg::SysUnExpect(String::new()));
                if self.messages {
                    err.msgs.insert(0, Msg::Expect("end of input".to_string()));
                }
                Ok(Parsed {
                    val: (),
                    pos,
                    consumed: false,
                    err,
                })
            }
        }
    }

    /// `many anyChar`: the rest of the input.
    pub(crate) fn rest(&self, pos: usize) -> Reply<String> {
        map(many(pos, |p| self.any_char(p)), |cs| {
            cs.into_iter().collect()
        })
    }
}

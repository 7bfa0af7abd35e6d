//! `kill -9` in the middle of a storage upload: the object acknowledged before the crash is
//! intact after a restart, the interrupted one has neither a row nor bytes once the sweeper
//! has run, and nothing else is left in the store.

mod support;

use std::time::{Duration, Instant};

use support::{free_port_pair, port_is_free, psql, start, value, wait_until};

/// Every file under `dir` (relative paths).
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn kill_9_mid_upload_leaves_no_half_object() {
    let dir = std::env::temp_dir().join(format!("bucketbase-storage-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port_pair();
    let mut first = start(&dir, port, &[]);
    let api = value(&first.lines, "API URL: ").to_string();
    let db_url = value(&first.lines, "DB URL: ").to_string();
    let key = value(&first.lines, "service_role key: ").to_string();
    psql(
        &db_url,
        "insert into storage.buckets (id, name) values ('media', 'media')",
    );
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{api}/storage/v1/object/media/kept.bin"))
        .header("apikey", &key)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/octet-stream")
        .body(vec![7u8; 3 << 20])
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 200);

    // A large upload that never finishes: 1 MiB every 50 ms.
    let body = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Some((Ok::<_, std::io::Error>(vec![1u8; 1 << 20]), n + 1))
    });
    let slow = http
        .post(format!("{api}/storage/v1/object/media/interrupted.bin"))
        .header("apikey", &key)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let upload = tokio::spawn(slow);
    let storage = dir.join("storage");
    let until = Instant::now() + Duration::from_secs(30);
    // Wait until the interrupted upload has put part of its bytes on disk.
    while !files(&storage)
        .iter()
        .any(|f| f.starts_with("media/interrupted.bin/"))
    {
        assert!(
            Instant::now() < until,
            "the upload reaches the disk: {:?}",
            files(&storage)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();
    let _ = upload.await;
    wait_until(
        "the orphaned postmaster exits",
        Duration::from_secs(30),
        || port_is_free(port + 1),
    );
    assert!(
        files(&storage)
            .iter()
            .any(|f| f.starts_with("media/interrupted.bin/")),
        "the crash left a partial write behind (what the sweeper is for)"
    );

    let mut second = start(
        &dir,
        port,
        &[
            ("BUCKETBASE_STORAGE_SWEEP_INTERVAL", "200ms"),
            ("BUCKETBASE_STORAGE_SWEEP_GRACE", "0s"),
        ],
    );
    assert_eq!(
        psql(
            &db_url,
            "select string_agg(name, ',' order by name) from storage.objects"
        ),
        "kept.bin",
        "no row for the interrupted upload"
    );
    let kept_key = psql(
        &db_url,
        "select bucket_id || '/' || name || '/' || version from storage.objects",
    );
    let until = Instant::now() + Duration::from_secs(20);
    while files(&storage) != [kept_key.clone()] {
        assert!(
            Instant::now() < until,
            "the sweeper leaves only the kept object: {:?}",
            files(&storage)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = http
        .get(format!("{api}/storage/v1/object/media/kept.bin"))
        .header("apikey", &key)
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.expect("body").iter().all(|b| *b == 7));
    second.child.kill().expect("stop");
    let _ = second.child.wait();
    wait_until("postgres stops", Duration::from_secs(30), || {
        port_is_free(port + 1)
    });
    let _ = std::fs::remove_dir_all(&dir);
}

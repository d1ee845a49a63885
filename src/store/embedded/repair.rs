//! Opening a sled database that a power cut damaged: repair what can be repaired safely, and
//! otherwise refuse with a message that names the damaged file and the command that recovers.
//!
//! - **`conf`**: sled 0.34 writes it once, when it creates the database (`write_config` in its
//!   `config.rs`), without an fsync; a power cut right after can leave it empty, cut short or
//!   with zeros, and sled then refuses to open ("Read corrupted data" or a missing parameter).
//!   Its content follows from the parameters issuebox opens every database with (segment size,
//!   compression, sled's version: `segment_size: …\nuse_compression: …\nversion: 0.34\n` and
//!   the CRC-32 of those bytes, little-endian), so a damaged `conf` is rebuilt from them — unless
//!   what is left of it names other parameters, which is not damage a power cut makes. The old
//!   bytes are kept beside it as `conf.damaged`. [`super::sync_conf`] makes it durable after
//!   every open, so this is needed only for a store created before that, or cut during its
//!   very first open.
//! - **the log (`db`) or a blob**: sled finds a record it cannot read (a filesystem that does
//!   not keep the order of writes, such as ext4 `data=writeback`, can leave appended pieces
//!   past holes). issuebox cannot know what the record held, so it does not guess: the error
//!   names the file and says how to recover (move the store aside, copy a backup in).

use std::io::{Read, Write};
use std::path::Path;

/// The bytes sled writes as `conf` for `config`.
fn conf_bytes(config: &sled::Config) -> Vec<u8> {
    let mut out = format!(
        "segment_size: {}\nuse_compression: {}\nversion: {}.{}\n",
        config.segment_size, config.use_compression, config.version.0, config.version.1
    )
    .into_bytes();
    // sled's own checksum of its conf (crc32fast, which sled depends on too).
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Before sled opens the database at `dir`: rebuilds a damaged `conf` (see the module doc).
/// A missing `conf` is left to sled, which writes it for a new database.
pub(super) fn repair_conf(config: &sled::Config, dir: &Path) -> std::io::Result<()> {
    let path = dir.join("conf");
    let mut found = Vec::new();
    match std::fs::File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut found)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let want = conf_bytes(config);
    if found == want {
        return Ok(());
    }
    // Every whole line that is left must agree with the parameters: a `conf` of other
    // parameters is not a torn one, and rebuilding it would make sled misread the log.
    let text = String::from_utf8_lossy(&found[..found.len().min(want.len() - 4)]).into_owned();
    let expected = String::from_utf8_lossy(&want[..want.len() - 4]).into_owned();
    let whole_lines = text.rsplit_once('\n').map(|(l, _)| l).unwrap_or("");
    for line in whole_lines
        .split('\n')
        .filter(|l| !l.trim_matches('\0').is_empty())
    {
        if !expected.lines().any(|e| e == line) {
            return Err(std::io::Error::other(format!(
                "{} names storage parameters issuebox does not use ({line:?}): it was not \
                 written by issuebox, or not for this sled version; nothing was changed",
                path.display()
            )));
        }
    }
    log::warn!(
        "{}: damaged ({} bytes, as a power cut can leave it); rebuilt from the storage \
         parameters, the old bytes kept as conf.damaged",
        path.display(),
        found.len()
    );
    std::fs::write(dir.join("conf.damaged"), &found)?;
    let tmp = dir.join("conf.rebuilt");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&want)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The error to give when sled refused to open `dir` with `e`: for damage issuebox cannot
/// repair, one that names the damaged file and the command that recovers.
pub(super) fn explain(dir: &Path, e: sled::Error) -> sled::Error {
    let file = match &e {
        sled::Error::Corruption {
            at: Some(sled::DiskPtr::Blob(_, blob)),
            ..
        } => dir.join("blobs").join(blob.to_string()),
        sled::Error::Corruption { .. } => dir.join("db"),
        _ => return e,
    };
    // The store directory is the data_dir; the journal is a database inside it.
    let store = if dir
        .file_name()
        .is_some_and(|n| n == super::batch::JOURNAL_DIR)
    {
        dir.parent().unwrap_or(dir)
    } else {
        dir
    };
    let s = store.display();
    sled::Error::Io(std::io::Error::other(format!(
        "the store cannot be opened: {} is damaged ({e}). This happens after a power cut on a \
         filesystem that does not keep the order of writes (ext4 data=writeback, for one); \
         issuebox cannot repair it without guessing. Recover: move the store aside and copy the \
         last backup in: `mv {s} {s}.damaged && issuebox copy --from sled:BACKUP --to sled:{s}` \
         (without a backup, `mv {s} {s}.damaged` alone starts an empty store)",
        file.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> sled::Config {
        sled::Config::new()
    }

    #[test]
    fn the_conf_is_byte_for_byte_what_sled_writes() {
        let dir = tempfile::tempdir().unwrap();
        drop(config().path(dir.path()).open().unwrap());
        let written = std::fs::read(dir.path().join("conf")).unwrap();
        assert_eq!(written, conf_bytes(&config()));
    }

    #[test]
    fn a_torn_conf_is_rebuilt_and_sled_opens() {
        let dir = tempfile::tempdir().unwrap();
        let db = config().path(dir.path()).open().unwrap();
        db.insert(b"k", b"v").unwrap();
        db.flush().unwrap();
        drop(db);
        let whole = std::fs::read(dir.path().join("conf")).unwrap();
        for torn in [
            whole[..30].to_vec(),
            vec![0u8; whole.len()],
            [&whole[..20], &[0u8; 20][..]].concat(),
        ] {
            std::fs::write(dir.path().join("conf"), &torn).unwrap();
            repair_conf(&config(), dir.path()).unwrap();
            assert_eq!(std::fs::read(dir.path().join("conf")).unwrap(), whole);
            assert_eq!(
                std::fs::read(dir.path().join("conf.damaged")).unwrap(),
                torn
            );
            let db = super::super::open_sled(&config().path(dir.path()), dir.path()).unwrap();
            assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
            drop(db);
        }
    }

    #[test]
    fn a_conf_of_other_parameters_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let other = b"segment_size: 1048576\nuse_compression: false\nversion: 0.34\n";
        std::fs::write(dir.path().join("conf"), other).unwrap();
        let e = repair_conf(&config(), dir.path()).unwrap_err();
        assert!(e.to_string().contains("segment_size: 1048576"), "{e}");
        assert_eq!(std::fs::read(dir.path().join("conf")).unwrap(), other);
    }
}

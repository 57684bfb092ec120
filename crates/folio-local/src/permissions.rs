//! The data directory is its owner's alone: it holds the token-signing seed, the download-URL
//! secret, password hashes and every document. New directories are made `0700` and files
//! `0600` (the process umask is set to `077` before anything is created, so SQLite's journal
//! files, objects and backups inherit it). A directory made by an older folio with the usual
//! `022` umask is tightened at start, once folio recognises it as its own; one owned by someone
//! else, or writable by others, is refused unless the operator says otherwise.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What to do with a data directory that others could write to or that another user owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsecureDataDir {
    /// Refuse to start, saying how to fix it (the default).
    #[default]
    Refuse,
    /// Use it anyway (`--allow-insecure-data-dir`), e.g. a volume whose modes folio cannot set.
    Allow,
}

/// Why a data directory was refused.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    /// Another user owns it.
    #[error(
        "{path} belongs to user {owner}, not to the user folio runs as ({us}); run folio as its owner, or `chown -R {us} {path}`, or pass --allow-insecure-data-dir"
    )]
    NotOwned {
        /// The directory.
        path: String,
        /// Its owner's uid.
        owner: u32,
        /// folio's effective uid.
        us: u32,
    },
    /// Others can write to it (or to a file in it).
    #[error(
        "{path} can be written by other users (mode {mode:o}); run `chmod -R go-rwx {dir}`, or pass --allow-insecure-data-dir"
    )]
    WritableByOthers {
        /// The path others can write.
        path: String,
        /// The data directory.
        dir: String,
        /// Its mode.
        mode: u32,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// What [`secure_data_dir`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tightened {
    /// Paths whose modes were narrowed, with the old mode.
    pub changed: Vec<(PathBuf, u32)>,
}

/// A new data directory's mode: only its owner may enter.
const PRIVATE_DIR: u32 = 0o700;

/// Makes files this process creates from now on private (`umask 077`).
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` (mode `0700`) or checks and tightens an existing one; see the module docs.
pub fn secure_data_dir(dir: &Path, policy: InsecureDataDir) -> Result<Tightened, PermissionError> {
    let io = |path: &Path, source| PermissionError::Io { path: path.display().to_string(), source };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR)
            .create(dir)
            .map_err(|e| io(dir, e))?;
        return Ok(Tightened::default());
    }
    let meta = std::fs::metadata(dir).map_err(|e| io(dir, e))?;
    let us = rustix::process::geteuid().as_raw();
    if policy == InsecureDataDir::Allow {
        return Ok(Tightened::default());
    }
    if meta.uid() != us {
        return Err(PermissionError::NotOwned {
            path: dir.display().to_string(),
            owner: meta.uid(),
            us,
        });
    }
    let ours = is_folio_data_dir(dir);
    let mut tightened = Tightened::default();
    // Walk without following symlinks; every entry must be ours and not writable by others.
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.mode() & 0o7777;
        // Others could have planted or replaced anything here (the database included).
        if mode & 0o022 != 0 {
            return Err(PermissionError::WritableByOthers {
                path: path.display().to_string(),
                dir: dir.display().to_string(),
                mode,
            });
        }
        if meta.uid() != us {
            return Err(PermissionError::NotOwned {
                path: path.display().to_string(),
                owner: meta.uid(),
                us,
            });
        }
        if !ours {
            // Not recognisably folio's: checked, never changed or walked.
            break;
        }
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & !0o077))
                .map_err(|e| io(&path, e))?;
            tightened.changed.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(|e| io(&path, e))? {
                pending.push(entry.map_err(|e| io(&path, e))?.path());
            }
        }
    }
    Ok(tightened)
}

/// A directory folio made: its database, its objects folder, or nothing at all yet.
fn is_folio_data_dir(dir: &Path) -> bool {
    dir.join("folio.db").is_file()
        || dir.join("objects").is_dir()
        || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map(|m| m.mode() & 0o777).unwrap_or(0)
    }

    #[test]
    fn a_new_directory_is_private_and_an_old_one_is_tightened() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = root.path().join("a/b");
        secure_data_dir(&dir, InsecureDataDir::Refuse).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&dir), 0o700);

        let old = root.path().join("old");
        std::fs::create_dir_all(old.join("objects/ugc")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(old.join("folio.db"), b"x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(old.join("objects/ugc/a.pdf"), b"x").unwrap_or_else(|e| panic!("{e}"));
        for (path, m) in [
            ("", 0o755),
            ("objects", 0o755),
            ("objects/ugc", 0o755),
            ("folio.db", 0o644),
            ("objects/ugc/a.pdf", 0o644),
        ] {
            std::fs::set_permissions(old.join(path), std::fs::Permissions::from_mode(m))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let report =
            secure_data_dir(&old, InsecureDataDir::Refuse).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.changed.len(), 5, "{report:?}");
        for (path, m) in [
            ("", 0o700),
            ("objects", 0o700),
            ("objects/ugc", 0o700),
            ("folio.db", 0o600),
            ("objects/ugc/a.pdf", 0o600),
        ] {
            assert_eq!(mode(&old.join(path)), m, "{path}");
        }
        assert!(secure_data_dir(&old, InsecureDataDir::Refuse).is_ok_and(|r| r.changed.is_empty()));
    }

    #[test]
    fn a_directory_others_can_write_is_refused_unless_allowed() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = root.path().join("shared");
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("notes.txt"), b"not folio's").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = secure_data_dir(&dir, InsecureDataDir::Refuse);
        assert!(matches!(refused, Err(PermissionError::WritableByOthers { .. })), "{refused:?}");
        assert!(refused.is_err_and(|e| e.to_string().contains("chmod -R go-rwx")));
        assert!(secure_data_dir(&dir, InsecureDataDir::Allow).is_ok());
        assert_eq!(mode(&dir), 0o777, "allowed, and left alone");
    }
}

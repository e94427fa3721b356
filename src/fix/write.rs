//! Writing fixed files: to a temporary file in the same directory, then renamed over the
//! original, so a file is either entirely old or entirely new, never half-written. The
//! original's permissions are kept; a file that is read-only is refused, not replaced.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One file to write: its new text, and whether it is created (did not exist before).
pub struct Output<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub create: bool,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Write a group of files that must change together (a refactoring that adds a component to
/// `loss.py` and rewrites its call site): every new text goes to a temporary file first, and
/// only when all of them are written are they renamed into place. On error nothing is changed
/// and the message names the file.
pub fn write_group(files: &[Output<'_>]) -> Result<(), String> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for file in files {
        match stage(file) {
            Ok(pair) => staged.push(pair),
            Err(message) => {
                for (temp, _) in &staged {
                    let _ = fs::remove_file(temp);
                }
                return Err(message);
            }
        }
    }
    for (i, (temp, target)) in staged.iter().enumerate() {
        if let Err(err) = fs::rename(temp, target) {
            for (temp, _) in &staged[i..] {
                let _ = fs::remove_file(temp);
            }
            return Err(format!(
                "{}: cannot replace the file: {err}",
                target.display()
            ));
        }
    }
    Ok(())
}

/// Write the new text next to the target; returns (temporary file, target).
fn stage(file: &Output<'_>) -> Result<(PathBuf, PathBuf), String> {
    let shown = file.path.display();
    let (target, permissions) = if file.create {
        if file.path.exists() {
            return Err(format!(
                "{shown}: the file appeared while fixing; not overwritten"
            ));
        }
        (file.path.to_path_buf(), None)
    } else {
        // Follow a symbolic link: the link stays, its target gets the new text.
        let target = fs::canonicalize(file.path).map_err(|e| format!("{shown}: {e}"))?;
        let metadata = fs::metadata(&target).map_err(|e| format!("{shown}: {e}"))?;
        if metadata.permissions().readonly() {
            return Err(format!(
                "{shown}: the file is read-only; fixes were not written (make it writable, or run \
                 with `--diff` to see them)"
            ));
        }
        if let Err(err) = fs::OpenOptions::new().append(true).open(&target) {
            return Err(format!("{shown}: cannot write the file: {err}"));
        }
        (target, Some(metadata.permissions()))
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if file.create && !dir.is_dir() {
        fs::create_dir_all(&dir)
            .map_err(|e| format!("{shown}: cannot create its directory: {e}"))?;
    }
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(
        ".{name}.dllint-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        out.write_all(file.text.as_bytes())?;
        out.sync_all()?;
        drop(out);
        if let Some(permissions) = permissions {
            fs::set_permissions(&temp, permissions)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok((temp, target)),
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(format!("{shown}: cannot write the fixed file: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeps_mode_and_refuses_read_only_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.py");
        fs::write(&path, "x = 1\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o750)).unwrap();
        }
        write_group(&[Output {
            path: &path,
            text: "x = 2\n",
            create: false,
        }])
        .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "x = 2\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o750);
        }
        let mut readonly = fs::metadata(&path).unwrap().permissions();
        readonly.set_readonly(true);
        fs::set_permissions(&path, readonly).unwrap();
        let new = dir.path().join("loss.py");
        let err = write_group(&[
            Output {
                path: &new,
                text: "y = 1\n",
                create: true,
            },
            Output {
                path: &path,
                text: "x = 3\n",
                create: false,
            },
        ])
        .unwrap_err();
        assert!(err.contains("read-only"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "x = 2\n");
        assert!(!new.exists());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }
}

//! Remembers finished builds per (tree id, recipe fingerprint): one JSON
//! file per key, so the same tree is never built twice, even by bisections
//! that share the cache directory.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What is remembered about one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedBuild {
    /// The build signature (`None` for a recipe without an artifact or a
    /// failed build).
    pub signature: Option<String>,
    /// Files the build produced, kept outside the worktree.
    pub artifacts: Vec<PathBuf>,
    /// The `compiler:` line, when the recipe has one.
    pub compiler_line: Option<String>,
    /// For a build that failed: the tail of its output.
    pub failure: Option<String>,
    /// How long the build took, in seconds.
    pub seconds: f64,
}

/// Why the cache could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Writing the entry failed.
    #[error("build cache {path}: {source}")]
    Io {
        /// The entry file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A directory of remembered builds.
#[derive(Debug, Clone)]
pub struct BuildCache {
    dir: PathBuf,
}

impl BuildCache {
    /// A cache stored in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BuildCache { dir: dir.into() }
    }

    fn entry(&self, tree_id: &str, fingerprint: &str) -> PathBuf {
        let key = crate::signature::bytes_signature(format!("{tree_id}\0{fingerprint}").as_bytes());
        self.dir.join(format!("{key}.json"))
    }

    /// The remembered build, if there is one and its artifacts still exist
    /// (an unreadable or stale entry counts as absent).
    pub fn get(&self, tree_id: &str, fingerprint: &str) -> Option<CachedBuild> {
        let text = std::fs::read_to_string(self.entry(tree_id, fingerprint)).ok()?;
        let build: CachedBuild = serde_json::from_str(&text).ok()?;
        build.artifacts.iter().all(|a| a.exists()).then_some(build)
    }

    /// Remembers a build (atomically: readers never see half an entry).
    pub fn put(
        &self,
        tree_id: &str,
        fingerprint: &str,
        build: &CachedBuild,
    ) -> Result<(), CacheError> {
        let path = self.entry(tree_id, fingerprint);
        let error = |source| CacheError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(error)?;
        let text = serde_json::to_string_pretty(build).map_err(|e| error(e.into()))?;
        let partial = path.with_extension(format!("{}.partial", std::process::id()));
        std::fs::write(&partial, text).map_err(error)?;
        std::fs::rename(&partial, &path).map_err(error)
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(artifacts: Vec<PathBuf>) -> CachedBuild {
        CachedBuild {
            signature: Some("abc".into()),
            artifacts,
            compiler_line: None,
            failure: None,
            seconds: 1.5,
        }
    }

    #[test]
    fn remembers_per_tree_and_recipe() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = dir.path().join("vmlinux");
        std::fs::write(&artifact, "x").unwrap();
        let cache = BuildCache::new(dir.path().join("cache"));
        assert_eq!(cache.get("tree1", "recipe"), None);
        cache
            .put("tree1", "recipe", &sample(vec![artifact.clone()]))
            .unwrap();
        assert_eq!(
            cache.get("tree1", "recipe"),
            Some(sample(vec![artifact.clone()]))
        );
        assert_eq!(cache.get("tree1", "other recipe"), None);
        assert_eq!(cache.get("tree2", "recipe"), None);
        std::fs::remove_file(&artifact).unwrap();
        assert_eq!(cache.get("tree1", "recipe"), None, "stale entry returned");
    }

    #[test]
    fn garbage_entry_is_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::new(dir.path());
        cache.put("t", "r", &sample(vec![])).unwrap();
        let entry = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        std::fs::write(entry.path(), "{not json").unwrap();
        assert_eq!(cache.get("t", "r"), None);
    }
}

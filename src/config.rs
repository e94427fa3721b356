//! Configuration: `[tool.dllint]` in `pyproject.toml`, or `dllint.toml` / `.dllint.toml`.
//!
//! Strict by design ("configuration should be strict", Sculley et al.): an unknown key, a value of
//! the wrong type or an unknown rule code is an error that names the file, line and key and
//! suggests the closest valid spelling. Nothing is silently ignored.
//!
//! Each file uses the nearest configuration above it (ruff's rule); CLI flags override it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{Glob, GlobSet, GlobSetBuilder};
use rustc_hash::FxHashMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::knowledge::{Extensions, Knowledge};
use crate::registry::{OptionKind, OptionValue, Rule, RuleOptions, Severity, closest};
use crate::rules;
use crate::rules::RuleSet;
use crate::semantic::index::FileScope;

/// Config file names, in the order they are looked for in each directory.
pub const CONFIG_FILES: [&str; 3] = [".dllint.toml", "dllint.toml", "pyproject.toml"];

/// Directories (and files) never linted unless `exclude` is overridden.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".env",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".dllint_cache",
    ".eggs",
    ".ipynb_checkpoints",
];

/// The top-level keys of `[tool.dllint]`; rule names are accepted too (per-rule option tables).
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "extend-exclude",
    "per-file-ignores",
    "notebook-ignore",
    "extend-notebook-ignore",
    "severity",
    "src",
    "knowledge",
];

/// The levels `[tool.dllint.severity]` accepts.
pub const SEVERITY_LEVELS: &[&str] = &["error", "warning", "info"];

/// A configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column of the offending key or value, when known.
    pub location: Option<(usize, usize)>,
    pub message: String,
    /// The offending line of the file, for the excerpt.
    pub line_text: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((line, col)) => write!(
                f,
                "invalid configuration in {}:{line}:{col}: {}",
                self.path.display(),
                self.message
            )?,
            None => write!(
                f,
                "invalid configuration in {}: {}",
                self.path.display(),
                self.message
            )?,
        }
        if let (Some((line, col)), Some(text)) = (self.location, &self.line_text) {
            let gutter = line.to_string().len();
            write!(
                f,
                "\n {:gutter$} |\n {line} | {text}\n {:gutter$} | {}^",
                "",
                "",
                " ".repeat(col.saturating_sub(1))
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The options of one configuration file, validated.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub select: Option<Vec<Rule>>,
    pub extend_select: Vec<Rule>,
    pub ignore: Vec<Rule>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
    pub per_file_ignores: Vec<(String, Vec<Rule>)>,
    /// Rules not run on notebooks; `None`: the rules' own defaults ([`RuleSet::notebook_defaults`]).
    pub notebook_ignore: Option<Vec<Rule>>,
    pub extend_notebook_ignore: Vec<Rule>,
    /// `[severity]`: the rules a selector names and the level they get, as written.
    pub severity: Vec<(Vec<Rule>, Severity)>,
    pub src: Vec<String>,
    pub rule_options: RuleOptions,
    pub knowledge: Extensions,
}

/// Where the options came from.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub options: Options,
}

/// Settings from the command line; they override every configuration file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub select: Option<Vec<Rule>>,
    pub extend_select: Vec<Rule>,
    pub ignore: Vec<Rule>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
}

/// Everything needed to lint the files under one configuration.
#[derive(Debug)]
pub struct Settings {
    /// The directory patterns are relative to: the config file's directory (or the cwd).
    pub root: PathBuf,
    pub config_path: Option<PathBuf>,
    pub rules: RuleSet,
    pub rule_options: RuleOptions,
    /// What the analysis reads of this configuration: root, import roots (`src`) and the
    /// framework knowledge with the user's `[tool.dllint.knowledge]` additions.
    pub scope: Arc<FileScope>,
    exclude: PatternSet,
    /// The `exclude` patterns (defaults or configured) and `extend-exclude`, as written.
    pub exclude_patterns: Vec<String>,
    /// `per-file-ignores`: the pattern as written, matched, and the rules it turns off.
    per_file_ignores: Vec<(String, PatternSet, RuleSet)>,
    /// Rules not run on notebooks (`notebook-ignore`, `extend-notebook-ignore`).
    pub notebook_ignore: RuleSet,
    /// `[knowledge]`: what the configuration adds to the built-in framework knowledge.
    pub knowledge_additions: Extensions,
    /// The severity of each rule, by position in the registry, after `[severity]`.
    severities: Vec<Severity>,
    /// A hash of the settings that change what one file's analysis produces (rule options,
    /// knowledge additions), for the lint cache; the rules are hashed per file.
    pub cache_key: u64,
}

/// Glob patterns matched against a path relative to the settings root and against its file name.
#[derive(Debug, Clone)]
struct PatternSet {
    with_slash: GlobSet,
    basename: GlobSet,
}

impl PatternSet {
    fn new(patterns: &[String]) -> Result<Self, String> {
        let mut with_slash = GlobSetBuilder::new();
        let mut basename = GlobSetBuilder::new();
        for pattern in patterns {
            let trimmed = pattern.trim_end_matches('/');
            let glob =
                Glob::new(trimmed).map_err(|e| format!("invalid glob pattern `{pattern}`: {e}"))?;
            if trimmed.contains('/') {
                with_slash.add(glob);
                // `dir/sub` also matches everything below it.
                with_slash.add(
                    Glob::new(&format!("{trimmed}/**"))
                        .map_err(|e| format!("invalid glob pattern `{pattern}`: {e}"))?,
                );
            } else {
                basename.add(glob);
            }
        }
        Ok(PatternSet {
            with_slash: with_slash.build().map_err(|e| e.to_string())?,
            basename: basename.build().map_err(|e| e.to_string())?,
        })
    }

    fn matches(&self, root: &Path, path: &Path) -> bool {
        if let Some(name) = path.file_name()
            && self.basename.is_match(Path::new(name))
        {
            return true;
        }
        let relative = path.strip_prefix(root).unwrap_or(path);
        self.with_slash.is_match(relative)
    }

    /// True if `path` or any of its parent directories (below the root) matches.
    fn matches_any_component(&self, root: &Path, path: &Path) -> bool {
        let relative = path.strip_prefix(root).unwrap_or(path);
        let mut current = PathBuf::new();
        for component in relative.components() {
            current.push(component);
            if let Some(name) = current.file_name()
                && self.basename.is_match(Path::new(name))
            {
                return true;
            }
            if self.with_slash.is_match(&current) {
                return true;
            }
        }
        false
    }
}

impl Settings {
    /// Combine a configuration file (if any) with the CLI overrides.
    pub fn resolve(
        root: PathBuf,
        config: Option<&ConfigFile>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let options = config.map(|c| c.options.clone()).unwrap_or_default();
        let error = |message: String| ConfigError {
            path: config.map_or_else(|| root.clone(), |c| c.path.clone()),
            location: None,
            message,
            line_text: None,
        };

        let mut rules = match overrides.select.as_ref().or(options.select.as_ref()) {
            Some(selected) => {
                let mut set = RuleSet::empty();
                set.extend(selected.iter().copied());
                set
            }
            None => RuleSet::defaults(),
        };
        // The configuration file, then the command line, which wins (as in ruff): a rule the
        // file ignores is enabled again by `--extend-select`, and `--ignore` has the last word.
        rules.extend(options.extend_select.iter().copied());
        for rule in &options.ignore {
            rules.remove(rule);
        }
        rules.extend(overrides.extend_select.iter().copied());
        for rule in &overrides.ignore {
            rules.remove(rule);
        }
        // Files that cannot be parsed are always reported unless explicitly ignored.
        let syntax = &rules::syntax::syntax_error::SYNTAX_ERROR;
        if !options
            .ignore
            .iter()
            .chain(&overrides.ignore)
            .any(|r| *r == syntax)
        {
            rules.insert(syntax);
        }

        let mut exclude: Vec<String> = overrides
            .exclude
            .clone()
            .or(options.exclude.clone())
            .unwrap_or_else(|| DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect());
        exclude.extend(options.extend_exclude.iter().cloned());
        exclude.extend(overrides.extend_exclude.iter().cloned());
        let exclude_patterns = exclude;
        let exclude = PatternSet::new(&exclude_patterns).map_err(error)?;

        let mut per_file_ignores = Vec::new();
        for (pattern, codes) in &options.per_file_ignores {
            let mut set = RuleSet::empty();
            set.extend(codes.iter().copied());
            per_file_ignores.push((
                pattern.clone(),
                PatternSet::new(std::slice::from_ref(pattern)).map_err(error)?,
                set,
            ));
        }

        let mut notebook_ignore = match &options.notebook_ignore {
            Some(rules) => {
                let mut set = RuleSet::empty();
                set.extend(rules.iter().copied());
                set
            }
            None => RuleSet::notebook_defaults(),
        };
        notebook_ignore.extend(options.extend_notebook_ignore.iter().copied());

        // Broad selectors first, so that `DL2 = "info"` and `DL202 = "warning"` give DL202 a
        // warning whatever their order in the file.
        let mut severities: Vec<Severity> = rules::ALL.iter().map(|r| r.severity).collect();
        let mut overrides: Vec<&(Vec<Rule>, Severity)> = options.severity.iter().collect();
        overrides.sort_by_key(|(rules, _)| std::cmp::Reverse(rules.len()));
        for (rules, level) in overrides {
            for rule in rules {
                severities[crate::rules::selection::index(rule)] = *level;
            }
        }

        let src = options.src.iter().map(|s| root.join(s)).collect();
        let cache_key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = rustc_hash::FxHasher::default();
            options.rule_options.hash(&mut hasher);
            options.knowledge.hash(&mut hasher);
            hasher.finish()
        };
        Ok(Settings {
            cache_key,
            root: root.clone(),
            config_path: config.map(|c| c.path.clone()),
            rules,
            rule_options: options.rule_options,
            scope: Arc::new(FileScope {
                root: root.clone(),
                src,
                knowledge: Knowledge::with_extensions(&options.knowledge),
            }),
            exclude,
            exclude_patterns,
            per_file_ignores,
            notebook_ignore,
            knowledge_additions: options.knowledge,
            severities,
        })
    }

    /// The severity findings of `rule` are shown with: the rule's default unless
    /// `[severity]` says otherwise.
    pub fn severity_of(&self, rule: Rule) -> Severity {
        self.severities
            .get(crate::rules::selection::index(rule))
            .copied()
            .unwrap_or(rule.severity)
    }

    /// True if the file or directory is excluded by `exclude`/`extend-exclude`.
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude.matches(&self.root, path)
    }

    /// True if the path or one of its parents (below the settings root) is excluded; used for
    /// `--force-exclude` on explicitly named files.
    pub fn is_excluded_with_parents(&self, path: &Path) -> bool {
        self.exclude.matches_any_component(&self.root, path)
    }

    /// Teaching code by where it lives: a folder of examples, tutorials, lessons, labs,
    /// exercises or courses, or a numbered lesson (`01-basics/`, `lab-05-2-logistic.py`,
    /// `3_NeuralNetworks/`, `chapter03_intro.py`), below the project root. The notebook policy
    /// applies to it: it shows one technique per file, on purpose.
    pub fn is_teaching_path(&self, path: &Path) -> bool {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        // Only the folders below the project root count: a checkout in `/tmp/` or under
        // `~/courses/` is not teaching code for where it was cloned. A file outside the root is
        // judged by its name alone.
        let relative = match absolute.strip_prefix(&self.root) {
            Ok(relative) => relative.to_path_buf(),
            Err(_) => PathBuf::from(absolute.file_name().unwrap_or(path.as_os_str())),
        };
        let teaching = &self.scope.knowledge.teaching;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_ascii_lowercase())
            .collect();
        let Some((file, folders)) = parts.split_last() else {
            return false;
        };
        // A numbered file alone may be a step of a pipeline (`02_train.py`); a numbered folder,
        // or a file named as a lesson (`lab-05-2-logistic.py`), is a lesson.
        let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
        // The project itself may be a course or a tutorial (`a-pytorch-tutorial-to-captioning`,
        // `nyu-dlsp20-course`): a word of its folder's name.
        let project = self
            .root
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let project_words = project
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| teaching.project_words.iter().any(|w| w == word));
        project_words
            || folders.iter().any(|f| teaching.is_teaching_name(f))
            || teaching.is_lesson_name(stem)
    }

    /// The rules enabled for one file, after `per-file-ignores` and, for a notebook,
    /// `notebook-ignore`.
    pub fn rules_for(&self, path: &Path) -> RuleSet {
        self.rules_for_source(path, false)
    }

    /// [`Settings::rules_for`] for a file whose text may be a notebook kept as a Python file
    /// (`cell_script`: cells marked `# %%`): the notebook policy applies to it too, as it does
    /// to teaching code ([`Settings::is_teaching_path`]).
    pub fn rules_for_source(&self, path: &Path, cell_script: bool) -> RuleSet {
        let mut rules = self.rules;
        if self.notebook_policy(path, cell_script).is_some() {
            for rule in self.notebook_ignore.iter() {
                rules.remove(rule);
            }
        }
        for (_, ignored) in self.per_file_ignores_for(path) {
            for rule in ignored.iter() {
                rules.remove(rule);
            }
        }
        rules
    }

    /// Why the notebook policy (`notebook-ignore`) applies to a file, if it does: it is a
    /// notebook, a notebook kept as a Python file (`cell_script`), or teaching code.
    pub fn notebook_policy(&self, path: &Path, cell_script: bool) -> Option<&'static str> {
        if crate::source::is_notebook(path) {
            Some("a notebook")
        } else if cell_script {
            Some("cells marked `# %%`")
        } else if self.is_teaching_path(path) {
            Some("teaching code")
        } else {
            None
        }
    }

    /// Every `per-file-ignores` entry: the pattern as written and the rules it turns off.
    pub fn per_file_ignores(&self) -> impl Iterator<Item = (&str, &RuleSet)> {
        self.per_file_ignores
            .iter()
            .map(|(pattern, _, rules)| (pattern.as_str(), rules))
    }

    /// The `per-file-ignores` entries whose pattern matches `path`.
    pub fn per_file_ignores_for<'s>(
        &'s self,
        path: &'s Path,
    ) -> impl Iterator<Item = (&'s str, &'s RuleSet)> {
        self.per_file_ignores
            .iter()
            .filter(|(_, patterns, _)| patterns.matches(&self.root, path))
            .map(|(pattern, _, rules)| (pattern.as_str(), rules))
    }
}

/// Find the configuration file that governs `dir`: the nearest ancestor holding `.dllint.toml`,
/// `dllint.toml`, or a `pyproject.toml` with a `[tool.dllint]` table.
///
/// Every `pyproject.toml` read on the way up must be valid TOML, whether or not it has a
/// `[tool.dllint]` table (as ruff): a broken file may hold dllint's configuration (a
/// `[tool.dllint` header missing its `]`), and running with the defaults instead would hide it.
pub fn find_config_file(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    for ancestor in dir.ancestors() {
        for name in CONFIG_FILES {
            let candidate = ancestor.join(name);
            if !candidate.is_file() {
                continue;
            }
            if name == "pyproject.toml" && !pyproject_configures_dllint(&candidate)? {
                continue;
            }
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// True if the `pyproject.toml` at `path` has a `tool.dllint` table; an error if it cannot be
/// read or is not valid TOML.
fn pyproject_configures_dllint(path: &Path) -> Result<bool, ConfigError> {
    let text = read_config_text(path)?;
    let document = DeTable::parse(&text).map_err(|e| toml_error(&e).locate(path, &text))?;
    let root = document.get_ref();
    Ok(lookup(root, "tool")
        .and_then(|tool| tool.get_ref().as_table())
        .is_some_and(|tool| lookup(tool, "dllint").is_some()))
}

fn toml_error(e: &toml::de::Error) -> RawError {
    RawError {
        span: e.span(),
        message: format!("TOML syntax error: {}", e.message()),
    }
}

/// The text of a configuration file (at most [`crate::source::MAX_SOURCE_BYTES`]).
fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    let error = |message: String| ConfigError {
        path: path.to_path_buf(),
        location: None,
        message,
        line_text: None,
    };
    if path.is_dir() {
        return Err(error(
            "expected a configuration file but found a directory".to_string(),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let bytes = crate::source::read_capped(file)
        .map_err(|e| error(format!("cannot read: {e}")))?
        .ok_or_else(|| {
            error(format!(
                "larger than {} MiB: not a configuration file",
                crate::source::MAX_SOURCE_BYTES >> 20
            ))
        })?;
    String::from_utf8(bytes).map_err(|e| error(format!("cannot read: not UTF-8 ({e})")))
}

/// Read and validate a configuration file.
pub fn load_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    // Reading a FIFO would wait for a writer forever.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Err(ConfigError {
            path: path.to_path_buf(),
            location: None,
            message: "not a regular file (FIFO, socket or device)".to_string(),
            line_text: None,
        });
    }
    let text = read_config_text(path)?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let options = parse_config(&text, is_pyproject).map_err(|err| err.locate(path, &text))?;
    Ok(ConfigFile {
        path: path.to_path_buf(),
        options,
    })
}

/// An error before it is tied to its file.
#[derive(Debug)]
pub struct RawError {
    span: Option<Range<usize>>,
    message: String,
}

impl RawError {
    fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        RawError {
            span: Some(span),
            message: message.into(),
        }
    }

    fn locate(self, path: &Path, text: &str) -> ConfigError {
        let (location, line_text) = match self.span {
            Some(span) => {
                let start = span.start.min(text.len());
                let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
                let line_end = text[start..].find('\n').map_or(text.len(), |p| start + p);
                let line = text[..start].matches('\n').count() + 1;
                let col = text[line_start..start].chars().count() + 1;
                (
                    Some((line, col)),
                    Some(text[line_start..line_end].trim_end().to_string()),
                )
            }
            None => (None, None),
        };
        ConfigError {
            path: path.to_path_buf(),
            location,
            message: self.message,
            line_text,
        }
    }
}

/// Parse and validate the text of a configuration file. For `pyproject.toml` the options live in
/// `[tool.dllint]`; in `dllint.toml` they are at the top level.
pub fn parse_config(text: &str, is_pyproject: bool) -> Result<Options, RawError> {
    let document = DeTable::parse(text).map_err(|e| toml_error(&e))?;
    let root = document.get_ref();
    if !is_pyproject {
        return parse_options(root, "");
    }
    let Some(tool) = lookup(root, "tool") else {
        return Err(RawError {
            span: None,
            message: "no [tool.dllint] table".into(),
        });
    };
    let Some(tool_table) = tool.get_ref().as_table() else {
        return Err(RawError::new(tool.span(), "`tool` must be a table"));
    };
    match lookup(tool_table, "dllint") {
        Some(value) => match value.get_ref().as_table() {
            Some(table) => parse_options(table, "tool.dllint."),
            None => Err(RawError::new(value.span(), "`tool.dllint` must be a table")),
        },
        None => Err(RawError {
            span: None,
            message: "no [tool.dllint] table".into(),
        }),
    }
}

fn lookup<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| key_str(k) == key)
        .map(|(_, v)| v)
}

fn key_str<'k>(key: &'k Spanned<toml::de::DeString<'_>>) -> &'k str {
    key.get_ref()
}

fn parse_options(table: &DeTable<'_>, prefix: &str) -> Result<Options, RawError> {
    let mut options = Options::default();
    for (key, value) in table {
        let name = key_str(key);
        let span = key.span();
        match name {
            "select" => options.select = Some(parse_selectors(value, prefix, name)?),
            "extend-select" => options.extend_select = parse_selectors(value, prefix, name)?,
            "ignore" => options.ignore = parse_selectors(value, prefix, name)?,
            "exclude" => options.exclude = Some(parse_strings(value, prefix, name)?),
            "extend-exclude" => options.extend_exclude = parse_strings(value, prefix, name)?,
            "src" => options.src = parse_strings(value, prefix, name)?,
            "notebook-ignore" => {
                options.notebook_ignore = Some(parse_selectors(value, prefix, name)?);
            }
            "extend-notebook-ignore" => {
                options.extend_notebook_ignore = parse_selectors(value, prefix, name)?;
            }
            "severity" => options.severity = parse_severities(value, prefix)?,
            "knowledge" => {
                let Some(entries) = value.get_ref().as_table() else {
                    return Err(type_error(value, prefix, name, "a table of pattern lists"));
                };
                for (key, patterns) in entries {
                    let key_name = key_str(key);
                    let full = format!("knowledge.{key_name}");
                    let Some(field) = options.knowledge.field_mut(key_name) else {
                        let mut message = format!("unknown key `{prefix}{full}`");
                        match closest(key_name, Extensions::KEYS.iter().copied()) {
                            Some(best) => message.push_str(&format!("; did you mean `{best}`?")),
                            None => message.push_str(&format!(
                                "; valid keys: {}",
                                Extensions::KEYS.join(", ")
                            )),
                        }
                        return Err(RawError::new(key.span(), message));
                    };
                    *field = parse_strings(patterns, prefix, &full)?;
                    if let Some(items) = patterns.get_ref().as_array() {
                        for item in items {
                            let pattern = item.get_ref().as_str().unwrap_or_default();
                            if let Err(why) = check_knowledge_pattern(pattern) {
                                return Err(RawError::new(
                                    item.span(),
                                    format!(
                                        "invalid pattern {pattern:?} in `{prefix}{full}`: {why}; \
                                         expected a qualified name such as `ourlib.nn.BaseNet` \
                                         or `ourlib.nn.*`"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
            "per-file-ignores" => {
                let Some(entries) = value.get_ref().as_table() else {
                    return Err(type_error(
                        value,
                        prefix,
                        name,
                        "a table of pattern = [codes]",
                    ));
                };
                for (pattern, codes) in entries {
                    let pattern = key_str(pattern).to_string();
                    let key = format!("per-file-ignores.\"{pattern}\"");
                    options
                        .per_file_ignores
                        .push((pattern, parse_selectors(codes, prefix, &key)?));
                }
            }
            _ => match rules::ALL.iter().find(|r| r.name == name) {
                Some(rule) => parse_rule_options(rule, value, prefix, &mut options.rule_options)?,
                None => {
                    let mut message = format!("unknown key `{prefix}{name}`");
                    let candidates = TOP_LEVEL_KEYS.iter().copied().chain(
                        rules::ALL
                            .iter()
                            .filter(|r| !r.options.is_empty())
                            .map(|r| r.name),
                    );
                    if let Some(best) = closest(name, candidates) {
                        message.push_str(&format!("; did you mean `{best}`?"));
                    } else if let Some(rule) = rules::find_rule(name) {
                        message.push_str(&format!(
                            "; per-rule options go in a table named after the rule: [{prefix}{}]",
                            rule.name
                        ));
                    } else {
                        message.push_str(&format!("; valid keys: {}", TOP_LEVEL_KEYS.join(", ")));
                    }
                    return Err(RawError::new(span, message));
                }
            },
        }
    }
    Ok(options)
}

fn parse_rule_options(
    rule: Rule,
    value: &Spanned<DeValue<'_>>,
    prefix: &str,
    out: &mut RuleOptions,
) -> Result<(), RawError> {
    let Some(table) = value.get_ref().as_table() else {
        return Err(type_error(
            value,
            prefix,
            rule.name,
            "a table of rule options",
        ));
    };
    for (key, value) in table {
        let name = key_str(key);
        let Some(spec) = rule.options.iter().find(|o| o.key == name) else {
            let mut message = format!("unknown option `{prefix}{}.{name}`", rule.name);
            if rule.options.is_empty() {
                message.push_str(&format!(" ({} has no options)", rule.code));
            } else if let Some(best) = closest(name, rule.options.iter().map(|o| o.key)) {
                message.push_str(&format!("; did you mean `{best}`?"));
            } else {
                let keys: Vec<_> = rule.options.iter().map(|o| o.key).collect();
                message.push_str(&format!("; {} accepts: {}", rule.code, keys.join(", ")));
            }
            return Err(RawError::new(key.span(), message));
        };
        let full = format!("{}.{name}", rule.name);
        let parsed = match (spec.kind, value.get_ref()) {
            (OptionKind::Int, DeValue::Integer(i)) => i
                .as_str()
                .parse::<u64>()
                .ok()
                .filter(|_| i.radix() == 10)
                .map(OptionValue::Int),
            (OptionKind::Bool, DeValue::Boolean(b)) => Some(OptionValue::Bool(*b)),
            (OptionKind::Str, DeValue::String(s)) => Some(OptionValue::Str(s.to_string())),
            (OptionKind::StrList, DeValue::Array(_)) => {
                Some(OptionValue::StrList(parse_strings(value, prefix, &full)?))
            }
            (OptionKind::Choices(allowed), DeValue::Array(_)) => {
                let strings = parse_strings(value, prefix, &full)?;
                // A misspelled value would silently match nothing: name it and the nearest
                // accepted one.
                if let Some(bad) = strings
                    .iter()
                    .find(|s| !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)))
                {
                    let mut message = format!("`{prefix}{full}`: unknown value `{bad}`");
                    if let Some(best) = closest(bad, allowed.iter().copied()) {
                        message.push_str(&format!("; did you mean `{best}`?"));
                    } else {
                        message.push_str(&format!("; accepted: {}", allowed.join(", ")));
                    }
                    return Err(RawError::new(value.span(), message));
                }
                Some(OptionValue::StrList(strings))
            }
            _ => None,
        };
        let Some(parsed) = parsed else {
            return Err(type_error(value, prefix, &full, spec.kind.describe()));
        };
        out.set(rule, spec.key, parsed);
    }
    Ok(())
}

/// Why a `[tool.dllint.knowledge]` pattern is not one: the patterns are qualified names
/// (`a.b.C`), whose last segment may be `*` (anything below `a.b`) or a glob (`a.b.*Loss`).
fn check_knowledge_pattern(pattern: &str) -> Result<(), &'static str> {
    let is_identifier = |s: &str| {
        s.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if pattern.is_empty() {
        return Err("it is empty");
    }
    let segments: Vec<&str> = pattern.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("it has an empty segment (a leading, trailing or doubled `.`)");
    }
    let (last, parents) = segments.split_last().unwrap_or((&"", &[]));
    if let Some(bad) = parents.iter().find(|s| !is_identifier(s)) {
        return Err(if bad.contains('*') {
            "`*` may only stand in the last segment"
        } else {
            "a segment is not a Python identifier"
        });
    }
    if last.contains('*') {
        if parents.is_empty() {
            return Err("a wildcard needs a module before it (`*` alone would match every name)");
        }
        let letters = last.replace('*', "_");
        if !letters.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err("the last segment is not a Python identifier or a `*` glob");
        }
    } else if !is_identifier(last) {
        return Err("a segment is not a Python identifier");
    }
    Ok(())
}

fn type_error(value: &Spanned<DeValue<'_>>, prefix: &str, key: &str, expected: &str) -> RawError {
    RawError::new(
        value.span(),
        format!(
            "`{prefix}{key}` must be {expected}, found {}",
            value.get_ref().type_str()
        ),
    )
}

fn parse_strings(
    value: &Spanned<DeValue<'_>>,
    prefix: &str,
    key: &str,
) -> Result<Vec<String>, RawError> {
    let Some(items) = value.get_ref().as_array() else {
        return Err(type_error(value, prefix, key, "an array of strings"));
    };
    items
        .iter()
        .map(|item| match item.get_ref().as_str() {
            Some(s) => Ok(s.to_string()),
            None => Err(type_error(item, prefix, key, "an array of strings")),
        })
        .collect()
}

fn parse_selectors(
    value: &Spanned<DeValue<'_>>,
    prefix: &str,
    key: &str,
) -> Result<Vec<Rule>, RawError> {
    let Some(items) = value.get_ref().as_array() else {
        return Err(type_error(value, prefix, key, "an array of rule codes"));
    };
    let mut rules = Vec::new();
    for item in items {
        let Some(code) = item.get_ref().as_str() else {
            return Err(type_error(item, prefix, key, "an array of rule codes"));
        };
        match rules::parse_selector(code) {
            Ok(found) => rules.extend(found),
            Err(message) => {
                return Err(RawError::new(
                    item.span(),
                    format!("in `{prefix}{key}`: {message}"),
                ));
            }
        }
    }
    Ok(rules)
}

/// `[severity]`: rule selectors (codes, prefixes, names, `ALL`) to levels.
fn parse_severities(
    value: &Spanned<DeValue<'_>>,
    prefix: &str,
) -> Result<Vec<(Vec<Rule>, Severity)>, RawError> {
    let Some(entries) = value.get_ref().as_table() else {
        return Err(type_error(
            value,
            prefix,
            "severity",
            "a table of rule = \"error\" | \"warning\" | \"info\"",
        ));
    };
    let mut out = Vec::new();
    for (key, level) in entries {
        let selector = key_str(key);
        let rules = rules::parse_selector(selector).map_err(|message| {
            RawError::new(key.span(), format!("in `{prefix}severity`: {message}"))
        })?;
        let full = format!("{prefix}severity.{selector}");
        let Some(text) = level.get_ref().as_str() else {
            return Err(type_error(
                level,
                "",
                &full,
                "one of \"error\", \"warning\", \"info\"",
            ));
        };
        let severity = match text {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => {
                let mut message = format!("`{full}`: unknown severity `{text}`");
                // The names other tools use for the same levels.
                let alias = match text.to_ascii_lowercase().as_str() {
                    "note" | "notice" | "information" | "minor" | "hint" => Some("info"),
                    "warn" | "major" => Some("warning"),
                    "critical" | "fatal" | "blocker" => Some("error"),
                    _ => None,
                };
                match alias.or_else(|| closest(text, SEVERITY_LEVELS.iter().copied())) {
                    Some(best) => message.push_str(&format!("; did you mean `{best}`?")),
                    None => message.push_str(&format!(
                        "; expected one of {}",
                        SEVERITY_LEVELS
                            .iter()
                            .map(|l| format!("`{l}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
                return Err(RawError::new(level.span(), message));
            }
        };
        out.push((rules, severity));
    }
    Ok(out)
}

/// Finds and caches the settings that govern each directory.
pub struct Resolver {
    overrides: Overrides,
    strategy: Strategy,
    cwd: PathBuf,
    /// Directory → the settings of its nearest configuration.
    by_dir: Mutex<FxHashMap<PathBuf, Arc<Settings>>>,
    /// Config file → settings, so that all directories under one config share one `Settings`.
    by_config: Mutex<FxHashMap<PathBuf, Arc<Settings>>>,
}

enum Strategy {
    /// `--config FILE` or `--isolated`: one settings object for every file.
    Fixed(Arc<Settings>),
    /// The nearest configuration above each file.
    Hierarchical,
}

impl Resolver {
    /// `config`: an explicit configuration file (`--config`); `isolated`: ignore all files.
    pub fn new(
        cwd: PathBuf,
        config: Option<&Path>,
        isolated: bool,
        overrides: Overrides,
    ) -> Result<Resolver, ConfigError> {
        let strategy = if let Some(path) = config {
            let file = load_config_file(path)?;
            let root = path.parent().map_or_else(|| cwd.clone(), Path::to_path_buf);
            let root = if root.as_os_str().is_empty() {
                cwd.clone()
            } else {
                root
            };
            Strategy::Fixed(Arc::new(Settings::resolve(root, Some(&file), &overrides)?))
        } else if isolated {
            Strategy::Fixed(Arc::new(Settings::resolve(cwd.clone(), None, &overrides)?))
        } else {
            Strategy::Hierarchical
        };
        Ok(Resolver {
            overrides,
            strategy,
            cwd,
            by_dir: Mutex::default(),
            by_config: Mutex::default(),
        })
    }

    /// The settings for a file or directory.
    pub fn settings_for(&self, path: &Path) -> Result<Arc<Settings>, ConfigError> {
        let absolute = self.absolute(path);
        if absolute.is_dir() {
            self.settings_for_dir(absolute)
        } else {
            self.settings_for_file(path)
        }
    }

    /// The settings for a path known to be a file (no file-system access once cached).
    pub fn settings_for_file(&self, path: &Path) -> Result<Arc<Settings>, ConfigError> {
        let absolute = self.absolute(path);
        let dir = absolute
            .parent()
            .map_or_else(|| self.cwd.clone(), Path::to_path_buf);
        self.settings_for_dir(dir)
    }

    /// `path` made absolute; `.` components dropped and `..` applied lexically, as ruff does
    /// (so that a configuration file found from `.` or `../sub` is shown as
    /// `dir/sub/pyproject.toml`, not `dir/./pyproject.toml` or `dir/sub/../sub/pyproject.toml`).
    fn absolute(&self, path: &Path) -> PathBuf {
        crate::discovery::absolute_lexical(path, &self.cwd)
    }

    fn settings_for_dir(&self, dir: PathBuf) -> Result<Arc<Settings>, ConfigError> {
        if let Strategy::Fixed(settings) = &self.strategy {
            return Ok(settings.clone());
        }
        if let Some(found) = self.by_dir.lock().expect("resolver lock").get(&dir) {
            return Ok(found.clone());
        }
        let config_path = find_config_file(&dir)?;
        let key = config_path.clone().unwrap_or_default();
        let cached = self
            .by_config
            .lock()
            .expect("resolver lock")
            .get(&key)
            .cloned();
        let settings = match cached {
            Some(settings) => settings,
            None => {
                let settings = match &config_path {
                    Some(path) => {
                        let file = load_config_file(path)?;
                        let root = path
                            .parent()
                            .map_or_else(|| self.cwd.clone(), Path::to_path_buf);
                        Settings::resolve(root, Some(&file), &self.overrides)?
                    }
                    None => Settings::resolve(self.cwd.clone(), None, &self.overrides)?,
                };
                let settings = Arc::new(settings);
                self.by_config
                    .lock()
                    .expect("resolver lock")
                    .insert(key, settings.clone());
                settings
            }
        };
        self.by_dir
            .lock()
            .expect("resolver lock")
            .insert(dir, settings.clone());
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        let raw = parse_config(text, false).unwrap_err();
        raw.locate(Path::new("dllint.toml"), text).to_string()
    }

    #[test]
    fn teaching_paths_count_only_below_the_root() {
        let settings = Settings::resolve("/work/proj".into(), None, &Overrides::default()).unwrap();
        assert!(settings.is_teaching_path(Path::new("/work/proj/examples/train.py")));
        assert!(settings.is_teaching_path(Path::new("/work/proj/tmp/try.py")));
        assert!(!settings.is_teaching_path(Path::new("/work/proj/src/train.py")));
        // Where the project was cloned says nothing about its code.
        let cloned =
            Settings::resolve("/tmp/tutorials/proj".into(), None, &Overrides::default()).unwrap();
        assert!(!cloned.is_teaching_path(Path::new("/tmp/tutorials/proj/train.py")));
        // A file outside the root is judged by its name alone.
        assert!(!settings.is_teaching_path(Path::new("/tmp/examples/train.py")));
        assert!(settings.is_teaching_path(Path::new("/tmp/lab-05-2-logistic.py")));
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let message = err("select = [\"DL3\"]\nselct = [\"DL1\"]\n");
        assert!(message.starts_with("invalid configuration in dllint.toml:2:1: unknown key `selct`; did you mean `select`?"), "{message}");
        assert!(message.contains("2 | selct = [\"DL1\"]"), "{message}");
    }

    #[test]
    fn unknown_rule_code_is_an_error() {
        let message = err("ignore = [\"DL999\"]\n");
        assert!(message.contains("dllint.toml:1:11"), "{message}");
        assert!(
            message.contains("unknown rule selector `DL999`"),
            "{message}"
        );
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(
            err("select = \"DL1\"\n")
                .contains("`select` must be an array of rule codes, found string")
        );
        assert!(
            err("exclude = [1]\n").contains("`exclude` must be an array of strings, found integer")
        );
    }

    #[test]
    fn pyproject_keys_are_prefixed() {
        let text = "[tool.dllint]\nselect = [\"DL3\"]\nextend_select = []\n";
        let raw = parse_config(text, true).unwrap_err();
        let message = raw.locate(Path::new("pyproject.toml"), text).to_string();
        assert!(
            message
                .contains("unknown key `tool.dllint.extend_select`; did you mean `extend-select`?"),
            "{message}"
        );
    }

    #[test]
    fn selection_and_per_file_ignores() {
        let options = parse_config(
            "select = [\"DL3\"]\nignore = [\"DL301\"]\n[per-file-ignores]\n\"tests/*\" = [\"DL305\"]\n",
            false,
        )
        .unwrap();
        let file = ConfigFile {
            path: "dllint.toml".into(),
            options,
        };
        let settings = Settings::resolve("/p".into(), Some(&file), &Overrides::default()).unwrap();
        let codes: Vec<_> = settings.rules.iter().map(|r| r.code).collect();
        assert!(
            codes.contains(&"DL305") && !codes.contains(&"DL301"),
            "{codes:?}"
        );
        assert!(
            !settings
                .rules_for(Path::new("/p/tests/a.py"))
                .iter()
                .any(|r| r.code == "DL305")
        );
        assert!(
            settings
                .rules_for(Path::new("/p/src/a.py"))
                .iter()
                .any(|r| r.code == "DL305")
        );
    }

    #[test]
    fn severity_overrides_go_from_broad_to_specific() {
        let options =
            parse_config("[severity]\nDL202 = \"warning\"\nDL2 = \"error\"\n", false).unwrap();
        let file = ConfigFile {
            path: "dllint.toml".into(),
            options,
        };
        let settings = Settings::resolve("/p".into(), Some(&file), &Overrides::default()).unwrap();
        let rule = |code| rules::find_rule(code).unwrap();
        assert_eq!(settings.severity_of(rule("DL202")), Severity::Warning);
        assert_eq!(settings.severity_of(rule("DL203")), Severity::Error);
        assert_eq!(settings.severity_of(rule("DL501")), rule("DL501").severity);
    }

    #[test]
    fn notebook_ignore_replaces_and_extends_the_defaults() {
        let resolve = |text: &str| {
            let file = ConfigFile {
                path: "dllint.toml".into(),
                options: parse_config(text, false).unwrap(),
            };
            Settings::resolve("/p".into(), Some(&file), &Overrides::default()).unwrap()
        };
        let ignored = |settings: &Settings| -> Vec<&str> {
            settings.notebook_ignore.iter().map(|r| r.code).collect()
        };
        let defaults = [
            "DL101", "DL102", "DL103", "DL104", "DL105", "DL106", "DL107", "DL201", "DL508",
        ];
        assert_eq!(ignored(&resolve("")), defaults);
        assert_eq!(ignored(&resolve("notebook-ignore = [\"DL5\"]\n")).len(), 11);
        assert_eq!(
            ignored(&resolve("extend-notebook-ignore = [\"DL302\"]\n")),
            [
                "DL101", "DL102", "DL103", "DL104", "DL105", "DL106", "DL107", "DL201", "DL302",
                "DL508"
            ]
        );
        let settings = resolve("notebook-ignore = []\n");
        assert!(ignored(&settings).is_empty());
        assert!(
            settings
                .rules_for(Path::new("/p/nb.ipynb"))
                .iter()
                .any(|r| r.code == "DL201")
        );
        let settings = resolve("");
        assert!(
            !settings
                .rules_for(Path::new("/p/nb.ipynb"))
                .iter()
                .any(|r| r.code == "DL201")
        );
        assert!(
            settings
                .rules_for(Path::new("/p/train.py"))
                .iter()
                .any(|r| r.code == "DL201")
        );
        assert!(err("notebook-ignore = [\"DL1O7\"]\n").contains(
            "in `notebook-ignore`: unknown rule selector `DL1O7`; did you mean `DL107`?"
        ));
    }

    #[test]
    fn default_excludes_match_directory_names() {
        let settings = Settings::resolve("/p".into(), None, &Overrides::default()).unwrap();
        assert!(settings.is_excluded(Path::new("/p/.venv")));
        assert!(settings.is_excluded(Path::new("/p/a/__pycache__")));
        assert!(!settings.is_excluded(Path::new("/p/models")));
    }
}

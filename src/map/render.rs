//! Renderings of the architecture map: text (grouped by role), JSON, Mermaid and Graphviz dot.

use std::fmt::Write;

use super::{Component, ComponentKind, Map};

/// Role groups in display order.
const ROLES: [&str; 7] = [
    "Model",
    "Loss",
    "Dataset",
    "Optimizer",
    "Runner",
    "Task",
    "Entry",
];

pub(super) fn primary_role(component: &Component) -> &'static str {
    if component.kind == ComponentKind::Entry {
        return "Entry";
    }
    ROLES
        .iter()
        .copied()
        .find(|r| component.roles.contains(r))
        .unwrap_or("Task")
}

pub(super) fn location(component: &Component) -> String {
    match component.kind {
        ComponentKind::Library => "(library)".into(),
        ComponentKind::Inline => "(inline in the model)".into(),
        _ => match component.cell {
            // A notebook: the cell and the line within it, as `dllint check` shows positions.
            Some(cell) => format!("{}:cell {cell}:{}", component.path, component.line),
            None => format!("{}:{}", component.path, component.line),
        },
    }
}

/// Grouped by role; findings marked; `explain` adds the evidence of each role.
pub fn render_text(map: &Map, explain: bool, color: bool) -> String {
    let (bold, red, dim, reset) = if color {
        ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut out = String::new();
    let violations = map.edges.iter().filter(|e| e.violation).count();
    let _ = writeln!(
        out,
        "{bold}MODLR map{reset}: {} components, {} framework APIs, {} dependencies ({} violating)",
        map.components
            .iter()
            .filter(|c| !matches!(c.kind, ComponentKind::Library | ComponentKind::Inline))
            .count(),
        map.components
            .iter()
            .filter(|c| c.kind == ComponentKind::Library)
            .count(),
        map.edges.len(),
        violations
    );
    let name_width = map
        .components
        .iter()
        .map(|c| c.qualified.len())
        .max()
        .unwrap_or(10)
        .min(60);
    for role in ROLES {
        let members: Vec<&Component> = map
            .components
            .iter()
            .filter(|c| primary_role(c) == role)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{bold}{role}{reset}");
        for c in members {
            let also: Vec<&str> = c.roles.iter().copied().filter(|r| *r != role).collect();
            let also = if also.is_empty() {
                String::new()
            } else {
                format!(" (also {})", also.join(", "))
            };
            let findings = if c.findings.is_empty() {
                String::new()
            } else {
                format!("  {red}! {}{reset}", c.findings.join(", "))
            };
            let _ = writeln!(
                out,
                "  {:<name_width$}  {dim}{}{reset}{also}{findings}",
                c.qualified,
                location(c)
            );
            if explain {
                for evidence in &c.evidence {
                    let _ = writeln!(out, "      {dim}because: {evidence}{reset}");
                }
            }
        }
    }
    if !map.edges.is_empty() {
        let _ = writeln!(out, "\n{bold}Dependencies{reset}");
        let names = map.qualified_names();
        let name = |id: &str| names.get(id).map_or(id.to_string(), |q| q.to_string());
        for e in &map.edges {
            let arrow = if e.violation {
                format!("{red}=={}==>{reset}", e.kind.label())
            } else {
                format!("--{}-->", e.kind.label())
            };
            let _ = writeln!(out, "  {} {arrow} {}", name(&e.from), name(&e.to));
        }
    }
    out
}

pub fn render_json(map: &Map) -> String {
    let mut text = serde_json::to_string_pretty(map).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn escape_label(text: &str) -> String {
    text.replace('"', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Mermaid flowchart: one subgraph per role; violating edges dashed and red.
pub fn render_mermaid(map: &Map) -> String {
    let mut out = String::from("flowchart LR\n");
    for role in ROLES {
        let members: Vec<&Component> = map
            .components
            .iter()
            .filter(|c| primary_role(c) == role)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {role}");
        for c in members {
            let label = format!(
                "{}<br/><small>{}</small>",
                escape_label(&c.name),
                escape_label(&location(c))
            );
            let _ = match c.kind {
                ComponentKind::Library | ComponentKind::Inline => {
                    writeln!(out, "    {}([\"{label}\"])", c.id)
                }
                ComponentKind::Function | ComponentKind::Script | ComponentKind::Entry => {
                    writeln!(out, "    {}(\"{label}\")", c.id)
                }
                ComponentKind::Class => writeln!(out, "    {}[\"{label}\"]", c.id),
            };
        }
        let _ = writeln!(out, "  end");
    }
    let mut violating = Vec::new();
    for (i, e) in map.edges.iter().enumerate() {
        let arrow = if e.violation { "-.->" } else { "-->" };
        let _ = writeln!(out, "  {} {arrow}|{}| {}", e.from, e.kind.label(), e.to);
        if e.violation {
            violating.push(i.to_string());
        }
    }
    if !violating.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:2px",
            violating.join(",")
        );
    }
    let flagged: Vec<&str> = map
        .components
        .iter()
        .filter(|c| !c.findings.is_empty())
        .map(|c| c.id.as_str())
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(out, "  classDef finding stroke:#d00,stroke-width:3px");
        let _ = writeln!(out, "  class {} finding", flagged.join(","));
    }
    out
}

/// Graphviz: clusters per role; violating edges dashed and red; findings outlined in red.
pub fn render_dot(map: &Map) -> String {
    let mut out = String::from(
        "digraph modlr {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    for role in ROLES {
        let members: Vec<&Component> = map
            .components
            .iter()
            .filter(|c| primary_role(c) == role)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  subgraph cluster_{} {{\n    label=\"{role}\"; style=dashed; color=gray60;",
            role.to_ascii_lowercase()
        );
        for c in members {
            let label = format!(
                "{}\\n{}",
                c.name.replace('"', "'"),
                location(c).replace('"', "'")
            );
            let mut attrs = vec![format!("label=\"{label}\"")];
            if matches!(c.kind, ComponentKind::Library | ComponentKind::Inline) {
                attrs.push("shape=ellipse".into());
                attrs.push(if c.kind == ComponentKind::Inline {
                    "color=red".into()
                } else {
                    "color=gray50".into()
                });
            }
            if !c.findings.is_empty() {
                attrs.push("color=red".into());
                attrs.push("penwidth=2".into());
                attrs.push(format!("tooltip=\"{}\"", c.findings.join(", ")));
            }
            let _ = writeln!(out, "    {} [{}];", c.id, attrs.join(", "));
        }
        let _ = writeln!(out, "  }}");
    }
    for e in &map.edges {
        let style = if e.violation {
            ", color=red, fontcolor=red, style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            e.from,
            e.to,
            e.kind.label()
        );
    }
    out.push_str("}\n");
    out
}

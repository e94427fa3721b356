//! `dllint map --format html`: one self-contained page (inline CSS and SVG, no script, no
//! network) with the component graph laid out in columns per role, each component's findings,
//! and the evidence for its roles on hover (`title`). Every text from the project (file, class
//! and function names, evidence) is escaped; the output depends only on the map (deterministic).

use std::fmt::Write;

use super::render::{location, primary_role};
use super::{Component, ComponentKind, Map};

/// Columns left to right: what wires components together first, then what it uses.
const COLUMNS: [&str; 7] = [
    "Entry",
    "Runner",
    "Task",
    "Model",
    "Loss",
    "Optimizer",
    "Dataset",
];

const NODE_W: usize = 190;
const NODE_H: usize = 58;
const COL_GAP: usize = 90;
const ROW_GAP: usize = 40;
const PAD: usize = 20;
const HEADER: usize = 36;
/// Room on the right of the last column for edges between components of one column.
const LOOP_ROOM: usize = 60;

/// Escape text for HTML content and quoted attribute values (and SVG, which is parsed as HTML
/// inside the page).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut (the full text is in the tooltip).
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The tooltip of a component: its roles, location, evidence and findings.
fn tooltip(c: &Component) -> String {
    let mut lines = vec![c.qualified.clone()];
    if !c.roles.is_empty() {
        lines.push(format!("roles: {}", c.roles.join(", ")));
    }
    lines.push(location(c));
    for evidence in &c.evidence {
        lines.push(format!("because: {evidence}"));
    }
    if !c.findings.is_empty() {
        lines.push(format!("findings: {}", c.findings.join(", ")));
    }
    lines.join("\n")
}

/// A short location for the graph: file name and line.
fn short_location(c: &Component) -> String {
    match c.kind {
        ComponentKind::Library | ComponentKind::Inline => location(c),
        _ => {
            let file = c.path.rsplit('/').next().unwrap_or(&c.path);
            match c.cell {
                Some(cell) => format!("{file}:cell {cell}:{}", c.line),
                None => format!("{file}:{}", c.line),
            }
        }
    }
}

struct Layout {
    /// Column titles in display order.
    columns: Vec<&'static str>,
    /// Per component (same order as `map.components`): column and row.
    slots: Vec<(usize, usize)>,
    width: usize,
    height: usize,
}

fn layout(map: &Map) -> Layout {
    let mut columns = Vec::new();
    let mut slots = vec![(0, 0); map.components.len()];
    let mut rows = 0;
    for role in COLUMNS {
        let members: Vec<usize> = (0..map.components.len())
            .filter(|&i| primary_role(&map.components[i]) == role)
            .collect();
        if members.is_empty() {
            continue;
        }
        for (row, &i) in members.iter().enumerate() {
            slots[i] = (columns.len(), row);
        }
        rows = rows.max(members.len());
        columns.push(role);
    }
    let n = columns.len().max(1);
    Layout {
        width: 2 * PAD + n * NODE_W + (n - 1) * COL_GAP + LOOP_ROOM,
        height: HEADER + rows.max(1) * (NODE_H + ROW_GAP) + PAD,
        columns,
        slots,
    }
}

fn node_xy(slot: (usize, usize)) -> (usize, usize) {
    (
        PAD + slot.0 * (NODE_W + COL_GAP),
        HEADER + slot.1 * (NODE_H + ROW_GAP),
    )
}

fn svg(map: &Map, out: &mut String) {
    let layout = layout(map);
    let index = |id: &str| map.components.iter().position(|c| c.id == id);
    let _ = writeln!(
        out,
        r##"<svg class="graph" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="component graph">
<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker>
<marker id="arrow-violation" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c00"/></marker>
</defs>"##,
        w = layout.width,
        h = layout.height
    );
    for (col, role) in layout.columns.iter().enumerate() {
        let (x, _) = node_xy((col, 0));
        let _ = writeln!(
            out,
            r#"<text class="column" x="{}" y="{}">{}</text>"#,
            x + NODE_W / 2,
            HEADER - 14,
            escape(role)
        );
    }
    // Edges first, so that the nodes are drawn over their ends. Lanes used per row gutter.
    let mut gutters: std::collections::BTreeMap<usize, i64> = std::collections::BTreeMap::new();
    for e in &map.edges {
        let (Some(a), Some(b)) = (index(&e.from), index(&e.to)) else {
            continue;
        };
        let (sa, sb) = (layout.slots[a], layout.slots[b]);
        let ((ax, ay), (bx, by)) = (node_xy(sa), node_xy(sb));
        let (ay, by) = ((ay + NODE_H / 2) as i64, (by + NODE_H / 2) as i64);
        let (ax, bx) = (ax as i64, bx as i64);
        let w = NODE_W as i64;
        let (path, mx, my) = if sb.0 == sa.0 + 1 || sa.0 == sb.0 + 1 {
            // Neighbouring columns: one curve across the gap between them.
            let (x0, x3) = if sb.0 > sa.0 {
                (ax + w, bx)
            } else {
                (ax, bx + w)
            };
            let d = (x3 - x0) / 2;
            (
                format!("M{x0},{ay} C{},{ay} {},{by} {x3},{by}", x0 + d, x3 - d),
                x0 + d,
                (ay + by) / 2,
            )
        } else if sb.0 == sa.0 {
            // One column: a loop out to the right.
            let x = ax + w;
            let bulge = 36 + 6 * (sa.1.abs_diff(sb.1) as i64);
            (
                format!("M{x},{ay} C{},{ay} {},{by} {x},{by}", x + bulge, x + bulge),
                x + bulge * 3 / 4,
                (ay + by) / 2,
            )
        } else {
            // Across columns: down (or up) into the empty gutter under the target's row, along
            // it, and into the target, so that the line never crosses a component in between.
            let lane = gutters.entry(sb.1).or_insert(0);
            let gy = (HEADER + sb.1 * (NODE_H + ROW_GAP) + NODE_H) as i64 + 9 + 7 * (*lane % 3);
            *lane += 1;
            let (x0, x3, s) = if sb.0 > sa.0 {
                (ax + w, bx, 1)
            } else {
                (ax, bx + w, -1)
            };
            let h = s * (COL_GAP as i64) / 2;
            (
                format!(
                    "M{x0},{ay} C{},{ay} {},{gy} {},{gy} L{},{gy} C{},{gy} {},{by} {x3},{by}",
                    x0 + h / 2,
                    x0 + h / 2,
                    x0 + h,
                    x3 - h,
                    x3 - h / 2,
                    x3 - h / 2
                ),
                x3 - h - s * (NODE_W as i64) / 2,
                gy + 4,
            )
        };
        let (class, marker) = if e.violation {
            ("edge violation", "arrow-violation")
        } else {
            ("edge", "arrow")
        };
        let title = format!(
            "{} {} {}{}",
            map.components[a].qualified,
            e.kind.label(),
            map.components[b].qualified,
            if e.violation { " (violation)" } else { "" }
        );
        let _ = writeln!(
            out,
            r#"<g class="{class}"><title>{}</title><path d="{path}" marker-end="url(#{marker})"/><text x="{mx}" y="{}">{}</text></g>"#,
            escape(&title),
            my - 4,
            escape(e.kind.label())
        );
    }
    for (i, c) in map.components.iter().enumerate() {
        let (x, y) = node_xy(layout.slots[i]);
        let mut class = String::from("node");
        match c.kind {
            ComponentKind::Library => class.push_str(" library"),
            ComponentKind::Inline => class.push_str(" inline"),
            _ => {}
        }
        if !c.findings.is_empty() {
            class.push_str(" finding");
        }
        let rx = if matches!(c.kind, ComponentKind::Library | ComponentKind::Inline) {
            NODE_H / 2
        } else {
            6
        };
        let _ = writeln!(
            out,
            r##"<a href="#{id}"><g class="{class}" data-id="{id}"><title>{tip}</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}"/><text class="name" x="{tx}" y="{y1}">{name}</text><text class="where" x="{tx}" y="{y2}">{loc}</text>"##,
            id = escape(&c.id),
            tip = escape(&tooltip(c)),
            tx = x + NODE_W / 2,
            y1 = y + 20,
            y2 = y + 35,
            name = escape(&shorten(&c.qualified, 26)),
            loc = escape(&shorten(&short_location(c), 30)),
        );
        if !c.findings.is_empty() {
            let _ = write!(
                out,
                r#"<text class="codes" x="{}" y="{}">{}</text>"#,
                x + NODE_W / 2,
                y + 50,
                escape(&shorten(&c.findings.join(" "), 30))
            );
        }
        out.push_str("</g></a>\n");
    }
    out.push_str("</svg>\n");
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px; color: #1d1f24; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
p.summary { margin: 0 0 16px; color: #555; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 8px; }
svg.graph { display: block; max-width: 100%; height: auto; font-size: 12px; }
svg .column { text-anchor: middle; font-weight: 600; fill: #444; font-size: 13px; }
svg .node rect { fill: #eef3fb; stroke: #5b7db1; stroke-width: 1.2; }
svg .node.library rect { fill: #f3f3f3; stroke: #999; stroke-dasharray: 4 3; }
svg .node.inline rect { fill: #fdeeee; stroke: #c00; }
svg .node.finding rect { stroke: #c00; stroke-width: 2.5; }
svg .node:hover rect { stroke-width: 3.5; }
svg .node text { text-anchor: middle; }
svg .node .name { font-weight: 600; fill: #1d1f24; font-size: 11px; }
svg .node .where { fill: #666; font-size: 11px; }
svg .node .codes { fill: #c00; font-weight: 600; font-size: 11px; }
svg .edge path { fill: none; stroke: #667; stroke-width: 1.3; }
svg .edge text { text-anchor: middle; font-size: 10px; fill: #556; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .edge.violation path { stroke: #c00; stroke-width: 2.2; stroke-dasharray: 6 4; }
svg .edge.violation text { fill: #c00; font-weight: 600; }
svg .edge:hover path { stroke-width: 3; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #ddd; border-left: 4px solid #5b7db1; border-radius: 6px; padding: 10px 12px; }
.card.finding { border-left-color: #c00; }
.card:target { outline: 2px solid #5b7db1; }
.card h3 { font-size: 14px; margin: 0 0 4px; word-break: break-all; }
.card .where { color: #666; font-size: 12px; word-break: break-all; }
.card .roles { font-size: 12px; margin: 4px 0; }
.role { display: inline-block; background: #e4ebf7; border-radius: 3px; padding: 0 5px; margin-right: 3px; }
.codes .code { display: inline-block; background: #fbe3e3; color: #a00; font-weight: 600; border-radius: 3px; padding: 0 5px; margin-right: 3px; font-family: ui-monospace, monospace; font-size: 12px; }
.card .codes { font-size: 12px; color: #777; }
.card ul { margin: 6px 0 0; padding-left: 18px; font-size: 12px; color: #444; }
table.edges { border-collapse: collapse; font-size: 13px; background: #fff; }
table.edges td, table.edges th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
table.edges tr.violation td { color: #c00; font-weight: 600; }
"#;

/// The whole page.
pub fn render_html(map: &Map) -> String {
    let components = map
        .components
        .iter()
        .filter(|c| !matches!(c.kind, ComponentKind::Library | ComponentKind::Inline))
        .count();
    let libraries = map
        .components
        .iter()
        .filter(|c| c.kind == ComponentKind::Library)
        .count();
    let violations = map.edges.iter().filter(|e| e.violation).count();
    let findings: usize = map.components.iter().map(|c| c.findings.len()).sum();

    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>MODLR map</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>MODLR map</h1>\n");
    let _ = writeln!(
        out,
        r#"<p class="summary">{components} components, {libraries} framework APIs, {} dependencies ({violations} violating), {findings} findings. Hover over a component for the evidence of its roles; click it for its findings.</p>"#,
        map.edges.len()
    );
    out.push_str("<div class=\"scroll\">\n");
    svg(map, &mut out);
    out.push_str("</div>\n<h2>Components</h2>\n<div class=\"cards\">\n");
    for role in COLUMNS {
        for c in map.components.iter().filter(|c| primary_role(c) == role) {
            let class = if c.findings.is_empty() {
                "card"
            } else {
                "card finding"
            };
            let _ = write!(
                out,
                r#"<section class="{class}" id="{}" title="{}"><h3>{}</h3><div class="where">{}</div>"#,
                escape(&c.id),
                escape(&tooltip(c)),
                escape(&c.qualified),
                escape(&location(c))
            );
            out.push_str("<div class=\"roles\">");
            if c.roles.is_empty() {
                out.push_str("<span class=\"role\">Entry</span>");
            }
            for r in &c.roles {
                let _ = write!(out, "<span class=\"role\">{}</span>", escape(r));
            }
            out.push_str("</div>");
            if c.findings.is_empty() {
                out.push_str("<div class=\"codes\">no findings</div>");
            } else {
                out.push_str("<div class=\"codes\">");
                for code in &c.findings {
                    let _ = write!(out, "<span class=\"code\">{}</span>", escape(code));
                }
                out.push_str("</div>");
            }
            if !c.evidence.is_empty() {
                out.push_str("<ul class=\"evidence\">");
                for evidence in &c.evidence {
                    let _ = write!(out, "<li>because: {}</li>", escape(evidence));
                }
                out.push_str("</ul>");
            }
            out.push_str("</section>\n");
        }
    }
    out.push_str("</div>\n");
    if !map.edges.is_empty() {
        out.push_str(
            "<h2>Dependencies</h2>\n<table class=\"edges\">\n<tr><th>from</th><th>dependency</th><th>to</th></tr>\n",
        );
        let names = map.qualified_names();
        let name = |id: &str| names.get(id).map_or(id.to_string(), |q| q.to_string());
        for e in &map.edges {
            let _ = writeln!(
                out,
                r##"<tr{}><td><a href="#{}">{}</a></td><td>{}</td><td><a href="#{}">{}</a></td></tr>"##,
                if e.violation {
                    r#" class="violation""#
                } else {
                    ""
                },
                escape(&e.from),
                escape(&name(&e.from)),
                escape(&format!(
                    "{}{}",
                    e.kind.label(),
                    if e.violation { " (violation)" } else { "" }
                )),
                escape(&e.to),
                escape(&name(&e.to))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Edge, EdgeKind};
    use super::*;

    fn component(id: &str, name: &str, roles: Vec<&'static str>, findings: &[&str]) -> Component {
        Component {
            id: id.into(),
            kind: ComponentKind::Class,
            roles,
            name: name.into(),
            qualified: format!("models.{name}"),
            path: "models/<b>evil</b>.py".into(),
            cell: None,
            line: 3,
            evidence: vec![format!("named `{name}` & \"quoted\"")],
            findings: findings.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn hostile_map() -> Map {
        Map {
            components: vec![
                component(
                    "c0",
                    "Net<script>alert(1)</script>",
                    vec!["Model"],
                    &["DL101"],
                ),
                component("c1", "Loss\"' onmouseover=\"x", vec!["Loss"], &[]),
            ],
            edges: vec![Edge {
                from: "c0".into(),
                to: "c1".into(),
                kind: EdgeKind::ComputesLoss,
                violation: true,
            }],
        }
    }

    #[test]
    fn names_from_the_project_cannot_inject_markup() {
        let html = render_html(&hostile_map());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>evil"), "{html}");
        assert!(!html.contains("\" onmouseover"), "{html}");
        assert!(!html.contains("' onmouseover"), "{html}");
        assert!(html.contains("Net&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&amp; &quot;quoted&quot;"));
    }

    #[test]
    fn the_page_is_self_contained_and_deterministic() {
        let map = hostile_map();
        let html = render_html(&map);
        assert_eq!(html, render_html(&map));
        assert!(html.starts_with("<!DOCTYPE html>"));
        for attr in ["src=", "<link", "@import", "url(http"] {
            assert!(!html.contains(attr), "{attr}");
        }
        assert!(html.contains(r#"class="edge violation""#));
        assert!(html.contains(r#"<span class="code">DL101</span>"#));
    }

    #[test]
    fn escape_covers_the_html_specials() {
        assert_eq!(
            escape(r#"<a href='x'>&"#),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
        assert_eq!(escape("\"q\""), "&quot;q&quot;");
    }
}

use super::*;

/// A notebook as Jupyter writes it: `indent=1`, sorted keys, non-ASCII as is, a final newline.
const JUPYTER: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# Title\n",
    "Some text"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {},
   "outputs": [],
   "source": [
    "import pdb\n",
    "x = 1"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {},
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "import pdb\n"
     ]
    }
   ],
   "source": [
    "%matplotlib inline\n",
    "print(x.shape)\n",
    "y = \"é\\t\"\n"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {},
   "outputs": [],
   "source": []
  }
 ],
 "metadata": {
  "kernelspec": {
   "display_name": "Python 3",
   "language": "python",
   "name": "python3"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

const CELL2: &str = "import pdb\nx = 1";
const CELL3: &str = "%matplotlib inline\nprint(x.shape)\ny = \"é\\t\"\n";

fn notebook(text: &str) -> Notebook {
    Notebook::parse(text.to_string()).unwrap()
}

fn at(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text:?}"))
}

fn range(start: usize, end: usize) -> TextRange {
    TextRange::new(to_size(start), to_size(end))
}

/// `original` with exactly one occurrence of `old` replaced by `new`.
fn replaced(original: &str, old: &str, new: &str) -> String {
    assert_eq!(original.matches(old).count(), 1, "{old:?} must be unique");
    original.replacen(old, new, 1)
}

#[test]
fn joins_code_cells_into_a_virtual_source() {
    let nb = notebook(JUPYTER);
    assert_eq!(nb.text(), format!("{CELL2}\n{CELL3}\n"));
    let numbers: Vec<usize> = nb.cells().iter().map(|c| c.number).collect();
    assert_eq!(numbers, [2, 3, 4]);
    let cells = nb.cells();
    assert!(cells[0].added_newline && !cells[1].added_newline && cells[2].added_newline);
    assert_eq!(
        [
            cells[0].first_line,
            cells[1].first_line,
            cells[2].first_line
        ],
        [0, 2, 5]
    );
    // `x` of `print(x.shape)`: virtual line 4, column 7 → cell 3, line 2.
    let offset = to_size(at(nb.text(), "x.shape"));
    assert_eq!(
        nb.locate(offset, 4, 7),
        Some(CellLocation {
            cell: 3,
            row: 2,
            column: 7
        })
    );
    assert_eq!(nb.cell_at(to_size(0)).unwrap().number, 2);
    assert_eq!(nb.cell_at(to_size(nb.text().len())).unwrap().number, 4);
    assert_eq!(&nb.text()[nb.cell_range(&cells[0])], CELL2);
}

#[test]
fn no_edits_keep_every_byte() {
    let nb = notebook(JUPYTER);
    assert_eq!(nb.apply_edits(&[]).unwrap(), JUPYTER);
    // An edit that changes nothing rewrites nothing either.
    let same = Edit::replacement(range(0, 6), "import");
    assert_eq!(nb.apply_edits(&[same]).unwrap(), JUPYTER);
}

#[test]
fn deleting_a_line_rewrites_only_that_cells_source() {
    let nb = notebook(JUPYTER);
    let edit = Edit::deletion(range(0, "import pdb\n".len()));
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(
        JUPYTER,
        "   \"source\": [\n    \"import pdb\\n\",\n    \"x = 1\"\n   ]",
        "   \"source\": [\n    \"x = 1\"\n   ]",
    );
    assert_eq!(out, expected);
    // The output of cell 3 says `import pdb` too: untouched.
    assert!(out.contains("      \"import pdb\\n\"\n"));
    assert_eq!(notebook(&out).text(), format!("x = 1\n{CELL3}\n"));
}

#[test]
fn deleting_the_last_line_drops_the_added_newline() {
    let nb = notebook(JUPYTER);
    // The last line of cell 2, with the newline the virtual source added after it.
    let start = at(nb.text(), "x = 1");
    let edit = Edit::deletion(range(start, start + "x = 1\n".len()));
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(
        JUPYTER,
        "    \"import pdb\\n\",\n    \"x = 1\"\n",
        "    \"import pdb\"\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn unchanged_lines_keep_their_exact_json() {
    let nb = notebook(JUPYTER);
    let start = at(nb.text(), "print(x.shape)");
    let edit = Edit::replacement(range(start, start + "print(x.shape)".len()), "pass");
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(JUPYTER, "\"print(x.shape)\\n\"", "\"pass\\n\"");
    assert_eq!(out, expected);
}

#[test]
fn new_text_is_escaped_like_the_file() {
    let nb = notebook(JUPYTER);
    let start = at(nb.text(), "print(x.shape)");
    let edit = Edit::replacement(
        range(start, start + "print(x.shape)".len()),
        "s = \"ü\\x\"\t# tab",
    );
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(
        JUPYTER,
        "\"print(x.shape)\\n\"",
        "\"s = \\\"ü\\\\x\\\"\\t# tab\\n\"",
    );
    assert_eq!(out, expected);
    assert!(notebook(&out).text().contains("s = \"ü\\x\"\t# tab\n"));
}

#[test]
fn ascii_only_notebooks_get_unicode_escapes() {
    let text = "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"s = '\\u00e9'\\n\", \"t = 1\"]}], \"nbformat\": 4}";
    let nb = notebook(text);
    assert_eq!(nb.text(), "s = 'é'\nt = 1\n");
    let start = at(nb.text(), "t = 1");
    let out = nb
        .apply_edits(&[Edit::replacement(range(start, start + 5), "t = 'ü😀'")])
        .unwrap();
    assert_eq!(
        out,
        "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"s = '\\u00e9'\\n\", \"t = '\\u00fc\\ud83d\\ude00'\"]}], \"nbformat\": 4}"
    );
}

#[test]
fn inserting_into_an_empty_cell_indents_like_the_other_cells() {
    let nb = notebook(JUPYTER);
    let end = nb.text().len();
    let cell4 = nb.cells()[2].start;
    assert_eq!(cell4, end - 1);
    let edit = Edit::insertion(to_size(cell4), "import os\nz = 2");
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(
        JUPYTER,
        "   \"outputs\": [],\n   \"source\": []\n",
        "   \"outputs\": [],\n   \"source\": [\n    \"import os\\n\",\n    \"z = 2\"\n   ]\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn emptying_a_cell_writes_an_empty_list() {
    let nb = notebook(JUPYTER);
    let edit = Edit::deletion(range(0, CELL2.len() + 1));
    let out = nb.apply_edits(&[edit]).unwrap();
    let expected = replaced(
        JUPYTER,
        "   \"source\": [\n    \"import pdb\\n\",\n    \"x = 1\"\n   ]",
        "   \"source\": []",
    );
    assert_eq!(out, expected);
}

#[test]
fn edits_in_several_cells_at_once() {
    let nb = notebook(JUPYTER);
    let pdb = at(nb.text(), "pdb");
    let shape = at(nb.text(), ".shape");
    let edits = [
        // Given out of order: sorted by the function.
        Edit::replacement(range(shape, shape + ".shape".len()), ".size()"),
        Edit::replacement(range(pdb, pdb + 3), "ipdb"),
    ];
    let out = nb.apply_edits(&edits).unwrap();
    let expected = replaced(
        JUPYTER,
        "\"import pdb\\n\",\n    \"x",
        "\"import ipdb\\n\",\n    \"x",
    );
    let expected = replaced(&expected, "\"print(x.shape)\\n\"", "\"print(x.size())\\n\"");
    assert_eq!(out, expected);
}

#[test]
fn string_sources_stay_strings() {
    let text = "{\n  \"cells\": [\n    {\n      \"cell_type\": \"code\",\n      \"source\": \"a = 1\\nb = 2\"\n    }\n  ],\n  \"nbformat\": 4\n}";
    let nb = notebook(text);
    assert_eq!(nb.text(), "a = 1\nb = 2\n");
    let out = nb
        .apply_edits(&[Edit::replacement(range(0, 5), "a = 3")])
        .unwrap();
    assert_eq!(out, text.replace("\"a = 1\\nb = 2\"", "\"a = 3\\nb = 2\""));
}

#[test]
fn compact_notebooks_stay_compact() {
    let text = r#"{"cells":[{"cell_type":"code","source":["a = 1\n","b = 2"]},{"cell_type":"code","source":[]}],"nbformat":4}"#;
    let nb = notebook(text);
    let out = nb
        .apply_edits(&[Edit::insertion(to_size(0), "import os\n")])
        .unwrap();
    assert_eq!(
        out,
        r#"{"cells":[{"cell_type":"code","source":["import os\n","a = 1\n","b = 2"]},{"cell_type":"code","source":[]}],"nbformat":4}"#
    );
    let end = nb.text().len();
    let out = nb
        .apply_edits(&[Edit::insertion(to_size(end - 1), "c = 3")])
        .unwrap();
    assert_eq!(
        out,
        r#"{"cells":[{"cell_type":"code","source":["a = 1\n","b = 2"]},{"cell_type":"code","source":["c = 3"]}],"nbformat":4}"#
    );
}

#[test]
fn crlf_and_trailing_bytes_of_the_file_are_kept() {
    let text = "{\r\n \"cells\": [\r\n  {\r\n   \"cell_type\": \"code\",\r\n   \"source\": [\r\n    \"a = 1\\n\",\r\n    \"b = 2\"\r\n   ]\r\n  }\r\n ],\r\n \"nbformat\": 4\r\n}\r\n\r\n";
    let nb = notebook(text);
    let out = nb
        .apply_edits(&[Edit::replacement(range(0, 5), "a = 9\nc = 0")])
        .unwrap();
    assert_eq!(
        out,
        text.replace(
            "\"a = 1\\n\",\r\n",
            "\"a = 9\\n\",\r\n    \"c = 0\\n\",\r\n"
        )
    );
}

#[test]
fn refuses_edits_it_cannot_place() {
    let nb = notebook(JUPYTER);
    let cell3 = nb.cells()[1].start;
    // From cell 2 into cell 3.
    let crossing = Edit::deletion(range(cell3 - 2, cell3 + 2));
    assert_eq!(
        nb.apply_edits(&[crossing]),
        Err(EditError::CrossesCells { start: 2, end: 3 })
    );
    let overlapping = [
        Edit::deletion(range(0, 4)),
        Edit::replacement(range(2, 6), "x"),
    ];
    assert!(matches!(
        nb.apply_edits(&overlapping),
        Err(EditError::Overlap { offset: 2 })
    ));
    let beyond = Edit::insertion(to_size(nb.text().len() + 1), "x");
    assert!(matches!(
        nb.apply_edits(&[beyond]),
        Err(EditError::OutOfRange { .. })
    ));
    // A code cell without a `source` key (invalid nbformat, but readable).
    let text = r#"{"cells":[{"cell_type":"code"}],"nbformat":4}"#;
    let nb = notebook(text);
    assert_eq!(nb.text(), "\n");
    assert_eq!(
        nb.apply_edits(&[Edit::insertion(to_size(0), "x")]),
        Err(EditError::NoSource { cell: 1 })
    );
}

/// Every single-character insertion and deletion on the virtual source, written back and
/// read again, gives the edited virtual source (up to the newline added after the last cell),
/// and leaves the rest of the file untouched.
#[test]
fn round_trips_every_small_edit() {
    let nb = notebook(JUPYTER);
    let text = nb.text();
    // The last newline of a cell separates it from the next one: deleting it cannot join two
    // cells, so it is left out.
    let cell_ends: Vec<usize> = nb.cells().iter().map(|c| c.end() - 1).collect();
    let normalise = |mut s: String| {
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    };
    let tail = &JUPYTER[at(JUPYTER, " \"metadata\": {\n  \"kernelspec\"")..];
    for (offset, c) in text.char_indices().chain([(text.len(), ' ')]) {
        for content in ["Z", "\"", "\\", "é", "\n", "\t"] {
            let out = nb
                .apply_edits(&[Edit::insertion(to_size(offset), content)])
                .unwrap();
            let mut expected = text.to_string();
            expected.insert_str(offset, content);
            assert_eq!(
                notebook(&out).text(),
                normalise(expected),
                "insert at {offset}"
            );
            assert!(out.ends_with(tail));
        }
        if offset == text.len() || cell_ends.contains(&offset) {
            continue;
        }
        let edit = Edit::deletion(range(offset, offset + c.len_utf8()));
        let out = nb.apply_edits(&[edit]).unwrap();
        let mut expected = text.to_string();
        expected.replace_range(offset..offset + c.len_utf8(), "");
        assert_eq!(
            notebook(&out).text(),
            normalise(expected),
            "delete at {offset}"
        );
    }
}

#[test]
fn file_positions_point_into_the_json() {
    let nb = notebook(JUPYTER);
    let line_of = |needle: &str| JUPYTER[..at(JUPYTER, needle)].matches('\n').count() + 1;
    // `print` of `print(x.shape)`: its string starts at column 5, so `p` is column 6.
    let offset = to_size(at(nb.text(), "print"));
    assert_eq!(nb.file_position(offset), (line_of("\"print"), 6));
    // After escapes: `é` in `"y = \"é\\t\"\n"` is the 12th character of the line.
    let offset = to_size(at(nb.text(), "é"));
    assert_eq!(nb.file_position(offset), (line_of("\"y = "), 12));
    // The newline added after cell 2 maps to the end of its last string.
    let cell2 = &nb.cells()[0];
    let (line, column) = nb.file_position(to_size(cell2.start + cell2.len));
    assert_eq!(line, line_of("\"x = 1\""));
    assert_eq!(column, 5 + "\"x = 1".len());
    // The empty cell: its `[]`.
    let (line, _) = nb.file_position(to_size(nb.cells()[2].start));
    assert_eq!(line, line_of("\"source\": []"));
}

#[test]
fn foreign_cell_magics_are_blanked_for_analysis() {
    let text = r#"{"cells":[
{"cell_type":"code","source":["%%bash\n","pip install torch\n","import pdb"]},
{"cell_type":"code","source":["%%time\n","import pdb"]},
{"cell_type":"code","source":["\n","%%html\n","<b>é</b>"]},
{"cell_type":"raw","source":["import pdb"]}
],"nbformat":4}"#;
    let nb = notebook(text);
    let python = nb.python_source();
    assert_eq!(python.len(), nb.text().len());
    assert_eq!(
        python,
        format!(
            "{}\n{}\n{}\n%%time\nimport pdb\n\n{}\n{}\n",
            " ".repeat(6),
            " ".repeat(17),
            " ".repeat(10),
            " ".repeat(6),
            " ".repeat("<b>é</b>".len())
        )
    );
}

#[test]
fn non_python_kernels_have_no_code() {
    let text = r#"{"cells":[{"cell_type":"code","source":["library(x)"]}],"metadata":{"kernelspec":{"language":"R","name":"ir"},"language_info":{"name":"R"}},"nbformat":4}"#;
    let nb = notebook(text);
    assert!(nb.cells().is_empty());
    assert_eq!(nb.text(), "");
    let text = r#"{"cells":[{"cell_type":"code","source":["x = 1"]}],"metadata":{"language_info":{"name":"python","version":"3.11"}},"nbformat":4}"#;
    assert_eq!(notebook(text).text(), "x = 1\n");
}

#[test]
fn invalid_notebooks_are_errors_not_panics() {
    let cases = [
        ("", "not valid JSON"),
        (
            "{\"cells\": [",
            "not valid JSON (unexpected end of the file",
        ),
        ("{\n  \"cells\": [1,]\n}", "at line 2, column 15"),
        ("[1, 2]", "top level is not a JSON object"),
        ("{\"nbformat\": 4}", "no `cells` list"),
        (
            "{\"cells\": [1], \"nbformat\": 4}",
            "cell 1 is not a JSON object",
        ),
        (
            "{\"cells\": [{\"cell_type\": \"code\", \"source\": 3}]}",
            "neither a string nor a list of strings",
        ),
        (
            "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"a\", 1]}]}",
            "neither a string nor a list of strings",
        ),
        (
            "{\"nbformat\": 3, \"worksheets\": []}",
            "nbformat 3 is not supported",
        ),
    ];
    for (text, expected) in cases {
        let error = Notebook::parse(text.to_string()).err().unwrap().to_string();
        assert!(error.starts_with("invalid notebook: "), "{error}");
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

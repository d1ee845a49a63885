//! Treasury's CSV files read byte for byte (see the module above for the layout and errors).

use super::ScreeningError;

pub(super) const SDN_FIELDS: usize = 12;
pub(super) const ALT_FIELDS: usize = 5;

pub(super) fn parse_err(file: &str, line: usize, reason: String) -> ScreeningError {
    ScreeningError::Parse {
        file: file.to_string(),
        line,
        reason,
    }
}

pub(super) fn parse_ent_num(field: &str, file: &str, line: usize) -> Result<u32, ScreeningError> {
    field
        .trim()
        .parse()
        .map_err(|_| parse_err(file, line, format!("ent_num {field:?} is not a number")))
}

/// A field's value: trimmed, with Treasury's `-0-` empty marker mapped to "".
pub(super) fn field_value(field: &str) -> &str {
    let v = field.trim();
    if v == "-0-" {
        ""
    } else {
        v
    }
}

/// Splits `data` into CSV records and calls `f(line, fields)` for each non-blank record,
/// `line` being the 1-based line on which it starts.
pub(super) fn for_each_record(
    data: &[u8],
    file: &str,
    mut f: impl FnMut(usize, &[String]) -> Result<(), ScreeningError>,
) -> Result<(), ScreeningError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut fields: Vec<String> = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut i = 0usize;
    let mut at_field_start = true;
    let len = data.len();

    let end_field = |field: &mut Vec<u8>, fields: &mut Vec<String>| {
        fields.push(String::from_utf8_lossy(field).into_owned());
        field.clear();
    };
    let mut end_record = |fields: &mut Vec<String>, record_line: usize| {
        let blank = fields.len() == 1
            && fields[0]
                .chars()
                .all(|c| c.is_whitespace() || c == '\u{1a}');
        let r = if blank {
            Ok(())
        } else {
            f(record_line, fields)
        };
        fields.clear();
        r
    };

    while i < len {
        let b = data[i];
        if at_field_start && b == b'"' {
            // Quoted field.
            i += 1;
            loop {
                if i >= len {
                    return Err(parse_err(
                        file,
                        record_line,
                        "unterminated quoted field".into(),
                    ));
                }
                match data[i] {
                    b'"' if data.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        break;
                    }
                    c => {
                        if c == b'\n' || (c == b'\r' && data.get(i + 1) != Some(&b'\n')) {
                            line += 1;
                        }
                        field.push(c);
                        i += 1;
                    }
                }
            }
            match data.get(i) {
                None | Some(b',') | Some(b'\r') | Some(b'\n') => {}
                Some(_) => {
                    return Err(parse_err(
                        file,
                        line,
                        "unexpected text after a closing quote".into(),
                    ));
                }
            }
            at_field_start = false;
            continue;
        }
        match b {
            b',' => {
                end_field(&mut field, &mut fields);
                at_field_start = true;
                i += 1;
            }
            b'\r' | b'\n' => {
                end_field(&mut field, &mut fields);
                end_record(&mut fields, record_line)?;
                i += if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                line += 1;
                record_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(b);
                at_field_start = false;
                i += 1;
            }
        }
    }
    if !at_field_start || !field.is_empty() || !fields.is_empty() {
        end_field(&mut field, &mut fields);
        end_record(&mut fields, record_line)?;
    }
    Ok(())
}

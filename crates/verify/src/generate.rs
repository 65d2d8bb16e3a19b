//! What is generated from the tool's own definitions: shell completions and man pages from the
//! command line, JSON Schemas from the `--json` output types.

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, JsonSchemaArgs, ManArgs};
use crate::output::{Verdict, say};

/// `vespa-tls completions SHELL`: the script on stdout.
pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<Verdict> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "vespa-tls", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if args.shell == clap_complete::Shell::Bash {
        // clap_complete's bash script spells the state of a subcommand of a hyphenated binary
        // two ways (`vespa__tls__subcmd__ca` in the loop that finds it, `vespa__subcmd__tls__…`
        // in the arms that complete it; clap issue 6421), so nothing after `vespa-tls ca`
        // completed. One spelling it is; the completion test drives bash through it.
        script = script.replace("vespa__subcmd__tls", "vespa__tls");
    }
    say(script.trim_end());
    Ok(Verdict::Yes)
}

/// `vespa-tls man --dir DIR`: one page per command, `vespa-tls.1`, `vespa-tls-ca-init.1`, ….
pub(crate) fn man(args: &ManArgs) -> anyhow::Result<Verdict> {
    write_man_pages(&args.dir)?;
    Ok(Verdict::Yes)
}

/// `vespa-tls json-schema COMMAND` prints one schema; `--dir DIR` writes them all.
pub(crate) fn json_schema(args: &JsonSchemaArgs) -> anyhow::Result<Verdict> {
    let schemas = crate::json::schemas();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        for (name, schema) in &schemas {
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, schema_text(schema))
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        return Ok(Verdict::Yes);
    }
    let wanted = args.command.as_deref().unwrap_or_default();
    match schemas.iter().find(|(name, _)| *name == wanted) {
        Some((_, schema)) => say(schema_text(schema).trim_end()),
        None => bail!(
            "no --json output named {wanted:?}; one of: {}",
            schemas
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(Verdict::Yes)
}

/// A schema as committed: pretty-printed, with a final newline.
fn schema_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut root = Cli::command().disable_help_subcommand(true);
    // Building gives each subcommand its display name (`vespa-tls-ca-init`) and full usage.
    root.build();
    let mut pending = vec![root];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .cloned(),
        );
        let man = clap_mangen::Man::new(command.clone());
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        render_man_page(&man, &command, &mut page)
            .with_context(|| format!("{}: cannot render", path.display()))?;
        std::fs::write(&path, page).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// clap_mangen's sections, then the help epilogue's paragraphs (`Examples:`, `Exit status:`)
/// as sections of their own with their lines kept as written, and SEE ALSO.
fn render_man_page(
    man: &clap_mangen::Man,
    command: &clap::Command,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    let epilogue = command
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    out.extend_from_slice(epilogue_roff(&epilogue).as_bytes());
    if command.get_name() != "vespa-tls" {
        out.extend_from_slice(b".SH \"SEE ALSO\"\n\\fBvespa-tls\\fR(1)\n");
    }
    Ok(())
}

/// Paragraphs headed `Title:` become `.SH TITLE` with their lines unfilled.
fn epilogue_roff(text: &str) -> String {
    let mut roff = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut lines = paragraph.lines();
        let Some(heading) = lines.next() else {
            continue;
        };
        let heading = heading.trim().trim_end_matches(':').to_uppercase();
        roff.push_str(&format!(".SH \"{}\"\n.nf\n", roff_escape(&heading)));
        for line in lines {
            roff.push_str(&roff_escape(line));
            roff.push('\n');
        }
        roff.push_str(".fi\n");
    }
    roff
}

/// Text that roff prints as written: backslashes and hyphens escaped, no line read as a request.
fn roff_escape(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epilogue_paragraphs_become_sections_kept_as_written() {
        let roff = epilogue_roff("Examples:\n  a --b 'c\\d'\n.x\n\nExit status:\n  0  yes");
        assert_eq!(
            roff,
            ".SH \"EXAMPLES\"\n.nf\n  a \\-\\-b 'c\\ed'\n\\&.x\n.fi\n.SH \"EXIT STATUS\"\n.nf\n  0  yes\n.fi\n"
        );
    }
}

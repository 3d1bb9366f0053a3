//! `culprit bisect`'s flags, made from the settings table: one flag per
//! setting (a boolean has `--NAME` and `--no-NAME`), its help and value
//! name from the table, grouped by the jobs that have it.

use clap::{Arg, ArgAction, ArgMatches, Command};
use culprit_exec::settings::{table::Default as Dflt, FlagValues, Kind, Scope, TABLE};

/// The id clap knows a setting's flag by (its key).
fn id(key: &str) -> String {
    key.to_owned()
}

/// The id of a boolean's opposite flag.
fn negated(key: &str) -> String {
    format!("no-{key}")
}

fn heading(scope: Scope) -> &'static str {
    match scope {
        Scope::Both => "Bisection",
        Scope::Generic => "Generic jobs (build and test commands)",
        Scope::Kernel => "Kernel jobs (also a job file's [kernel], [reproducer], [vm])",
    }
}

/// Adds every setting's flag to `cmd`.
pub fn augment(mut cmd: Command) -> Command {
    for def in TABLE {
        let Some(flag) = def.flag else { continue };
        let head = heading(def.scope);
        let help = match def.default {
            Dflt::Required => format!("{} [required]", def.help),
            Dflt::PerScope { generic, kernel } => format!(
                "{} [default: {}; kernel jobs: {}]",
                def.help,
                generic.to_toml(),
                kernel.to_toml()
            ),
            d => match d.value(def.scope) {
                Some(v) if def.kind != Kind::Bool => {
                    format!("{} [default: {}]", def.help, v.to_toml())
                }
                _ => def.help.to_owned(),
            },
        };
        if def.kind == Kind::Bool {
            let on_by_default = def.default.value(def.scope)
                == Some(culprit_exec::settings::table::Lit::Bool(true));
            let yes = Arg::new(id(def.key))
                .long(flag)
                .action(ArgAction::SetTrue)
                .overrides_with(negated(def.key))
                .help(help.clone())
                .hide(on_by_default)
                .help_heading(head);
            let no = Arg::new(negated(def.key))
                .long(format!("no-{flag}"))
                .action(ArgAction::SetTrue)
                .overrides_with(id(def.key))
                .help(format!("{help} [default: on; this flag turns it off]"))
                .hide(!on_by_default)
                .help_heading(head);
            cmd = cmd.arg(yes).arg(no);
            continue;
        }
        let mut arg = Arg::new(id(def.key))
            .long(flag)
            .value_name(def.value_name)
            .help(help)
            .help_heading(head);
        arg = match def.kind {
            Kind::Texts => arg.num_args(1..).action(ArgAction::Append),
            _ => arg
                .num_args(1)
                .action(ArgAction::Set)
                .overrides_with(id(def.key)),
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The flags given, as the settings read them.
pub fn values(matches: &ArgMatches) -> FlagValues {
    let mut flags = FlagValues::new();
    for def in TABLE {
        if def.flag.is_none() {
            continue;
        }
        if def.kind == Kind::Bool {
            if matches.get_flag(&id(def.key)) {
                flags.push(def, vec!["true".into()]);
            } else if matches.get_flag(&negated(def.key)) {
                flags.push(def, vec!["false".into()]);
            }
            continue;
        }
        if let Some(texts) = matches.get_many::<String>(&id(def.key)) {
            flags.push(def, texts.cloned().collect());
        }
    }
    flags
}

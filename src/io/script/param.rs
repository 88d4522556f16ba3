//! `.param set|unset|list|clear`: binding `$name` parameters, in scripts and in the shell alike.

use crate::query::Params;
use crate::value::Value;

/// One `.param` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamCommand {
    /// `.param set NAME VALUE`: the value is read as JSON (`"ICC"`, `2021`, `[1, 2]`), else
    /// taken as the text written.
    Set(String, Value),
    /// `.param unset NAME`.
    Unset(String),
    /// `.param list`.
    List,
    /// `.param clear`.
    Clear,
}

/// Reads the words after `.param`.
///
/// ```
/// use quarry::script::{ParamCommand, parse_param};
/// assert_eq!(
///     parse_param(&["set", "$org", "\"ICC\""]),
///     Ok(ParamCommand::Set("org".into(), quarry::Value::from("ICC")))
/// );
/// assert_eq!(parse_param(&["set", "year", "2021"]), Ok(ParamCommand::Set("year".into(), quarry::Value::Int(2021))));
/// assert_eq!(parse_param(&["list"]), Ok(ParamCommand::List));
/// assert!(parse_param(&["set", "x"]).is_err());
/// ```
pub fn parse_param(args: &[&str]) -> Result<ParamCommand, String> {
    match args {
        ["set", name, rest @ ..] if !rest.is_empty() => {
            let text = rest.join(" ");
            let value = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|json| Value::try_from(json).ok())
                .unwrap_or(Value::String(text));
            Ok(ParamCommand::Set(
                name.trim_start_matches('$').to_owned(),
                value,
            ))
        }
        ["unset", name] => Ok(ParamCommand::Unset(name.trim_start_matches('$').to_owned())),
        ["list"] => Ok(ParamCommand::List),
        ["clear"] => Ok(ParamCommand::Clear),
        _ => Err("usage: .param set NAME VALUE | unset NAME | list | clear".into()),
    }
}

/// Carries out `command` on `params`; what it prints (the list, or nothing).
///
/// ```
/// use quarry::script::{ParamCommand, apply_param};
/// let mut params = quarry::query::Params::new();
/// apply_param(&mut params, ParamCommand::Set("org".into(), quarry::Value::from("ICC")));
/// assert_eq!(apply_param(&mut params, ParamCommand::List), "$org = \"ICC\"\n");
/// apply_param(&mut params, ParamCommand::Unset("org".into()));
/// assert_eq!(apply_param(&mut params, ParamCommand::List), "no parameters\n");
/// ```
pub fn apply_param(params: &mut Params, command: ParamCommand) -> String {
    match command {
        ParamCommand::Set(name, value) => {
            params.set(&name, value);
            String::new()
        }
        ParamCommand::Unset(name) => {
            params.unset(&name);
            String::new()
        }
        ParamCommand::Clear => {
            *params = Params::new();
            String::new()
        }
        ParamCommand::List => {
            let bound = params.bound();
            if bound.is_empty() {
                return "no parameters\n".to_owned();
            }
            bound
                .iter()
                .map(|(name, value)| format!("${name} = {value}\n"))
                .collect()
        }
    }
}

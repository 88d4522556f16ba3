//! The shell's dot-commands: settings and shortcuts that are not statements.

use crate::io::render::Mode;
use crate::io::script::{ParamCommand, parse_param};

/// What a dot-command asks the shell to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Dot {
    /// Print the help.
    Help,
    /// Print the functions and aggregates.
    HelpFunctions,
    /// Change the output mode.
    Mode(Mode),
    /// Show or hide timings.
    Timer(bool),
    /// Run a script file.
    Read(String),
    /// Run a statement (`.collections`, `.indexes`, `.schema C`, `.use C`).
    Statement(String),
    /// Set, unset, list or clear parameters.
    Param(ParamCommand),
    /// Leave.
    Quit,
}

/// Reads a dot-command line (`.mode json`).
pub fn parse(line: &str) -> Result<Dot, String> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    match (command, args.as_slice()) {
        (".help", []) => Ok(Dot::Help),
        (".help", ["functions"]) => Ok(Dot::HelpFunctions),
        (".mode", [mode]) => mode.parse().map(Dot::Mode),
        (".timer", ["on"]) => Ok(Dot::Timer(true)),
        (".timer", ["off"]) => Ok(Dot::Timer(false)),
        (".read", [file]) => Ok(Dot::Read((*file).to_owned())),
        (".collections", []) => Ok(Dot::Statement("show collections".into())),
        (".indexes", []) => Ok(Dot::Statement("show indexes".into())),
        (".indexes", [c]) => Ok(Dot::Statement(format!("show indexes on {c}"))),
        (".schema", [c]) => Ok(Dot::Statement(format!("show fields of {c}"))),
        (".schema", []) => Ok(Dot::Statement("show fields".into())),
        (".use", [c]) => Ok(Dot::Statement(format!("use {c}"))),
        (".quit" | ".exit", []) => Ok(Dot::Quit),
        (".param", args) => parse_param(args).map(Dot::Param),
        (".mode", _) => Err("usage: .mode table|json|ndjson|csv|line".into()),
        (".timer", _) => Err("usage: .timer on|off".into()),
        (".read", _) => Err("usage: .read FILE".into()),
        (".use", _) => Err("usage: .use COLLECTION".into()),
        _ => Err(format!("unknown command `{command}`: .help lists them")),
    }
}

/// The text of `.help`: every statement with an example, and the dot-commands.
pub const HELP: &str = "\
Statements (end with ; or press Enter when complete; `--` starts a comment):
  [select [distinct] E [as NAME], ...] [from C] [where COND] [group by E, ...] [having COND]
      [order by E [desc], ...] [limit N] [offset N]
      where org = \"ICC\" and year >= 2020 order by date desc limit 10
      select org, count() as n, avg(words) from a group by org having n > 2 order by n desc
  count [from C] [where COND] [by PATH]       count by org
  insert into C {...} | [{...}, ...]          insert into people {name: 'Ada', tags: ['math']}
  update C set PATH = E, ... [unset PATH, ...] where COND
                                              update people set age = age + 1 where name = 'Ada'
  delete from C where COND | all              delete from people where age < 18
  create [unique] index on C (PATH, ...)      create index on articles (org, year)
  drop index NAME | drop collection C         drop index articles_org_year
  use C | show collections | show indexes [on C] | show fields [of C]
  explain [analyze] STATEMENT                 explain where org = \"ICC\"
  import \"FILE\" into C [format F]             import \"articles.ndjson\" into articles
  begin; ...; commit | rollback               one transaction: all of it, or none (prompt: *>)
  explain sql STATEMENT                       the PostgreSQL equivalent (see export --format postgres)
Conditions: = != < <= > >= in [..] not in [..] between A and B contains V
  starts with \"p\" matches r\"regex\" exists PATH  PATH is [not] null  and or not ( )
  PATH has (COND on one element, `_` the element)   a bare PATH means PATH = true
Expressions (E): paths, values, $params, + - * / %, || (text), ( ), functions, aggregates,
  date intervals: date + 1 month, today() - 30 days.   .help functions lists them.
Parameters: $1 $name (set with .param here, --param on the command line).
Commands:
  .help [functions]          this text, or the functions and aggregates
  .mode table|json|ndjson|csv|line
  .timer on|off              show how long each statement took
  .read FILE                 run a script
  .param set NAME VALUE      bind $NAME (VALUE as JSON, else text); .param unset NAME|list|clear
  .collections  .indexes [C]  .schema [C]  .use C
  .quit                      leave (or Ctrl-D)
Keys: Tab completes, Ctrl-R searches history, Ctrl-C clears the line or stops a query.";

/// The text of `.help functions`.
pub const FUNCTIONS: &str = "\
Functions (a value of a type a function does not take gives null):
  len(x)                characters of a string, elements of an array, fields of an object
  lower(s) upper(s)     case          trim(s)   without surrounding white space
  substr(s, start[, n]) characters from start (the first is 1)
  abs(x)  floor(x)  ceil(x)  round(x[, digits])   (ties away from zero)
  coalesce(a, b, ...)   the first that is not null
  type(x)               \"null\", \"bool\", \"number\", \"string\", \"array\" or \"object\"
  year(d) month(d) day(d) date(d)   of an ISO date or date-time string (date: YYYY-MM-DD)
  today()               the current UTC date; d + 1 month, today() - 30 days (day, week,
                        month, year): YYYY-MM-DD, month ends clamped
  score()               BM25 score of the `where search \"...\"` (order by score() desc)
  snippet(p[, open, close[, words]])   words of p around the search's first match, marked
Arithmetic: + - * / % on numbers (integers stay exact; x / 0 is null), || joins text.
Aggregates (select, having, order by; one row without group by):
  count()  count(*)     rows          count(x)   rows where x is not null
  count(distinct x)     distinct values (an array's elements each)
  sum(x)  avg(x)        of numbers    min(x)  max(x)   in the value order, nulls skipped";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_commands_parse_or_are_refused() {
        assert_eq!(parse(".timer off"), Ok(Dot::Timer(false)));
        assert_eq!(
            parse(".schema people"),
            Ok(Dot::Statement("show fields of people".into()))
        );
        assert!(parse(".nope").is_err());
        assert_eq!(parse(".help functions"), Ok(Dot::HelpFunctions));
    }

    #[test]
    fn the_functions_help_names_every_function_and_aggregate() {
        for (_, name, ..) in crate::query::ast::Function::ALL {
            assert!(FUNCTIONS.contains(&format!("{name}(")), "{name}");
        }
        for (_, name) in crate::query::ast::Aggregate::ALL {
            assert!(FUNCTIONS.contains(&format!("{name}(")), "{name}");
        }
    }
}

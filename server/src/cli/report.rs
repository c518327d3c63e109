//! `promptmeter report`: spend from the ledger by day, week, month, provider, model, session
//! or project; a table or `--json`; `--since`/`--until` (YYYY-MM-DD or RFC 3339).

use std::path::PathBuf;
use std::process::ExitCode;

use promptmeter_ledger::Ledger;
use promptmeter_ledger::report::{GroupBy, Report, aggregate, table};
use promptmeter_ledger::window::{local_offset, parse_time};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Group by: day, week, month, provider, model, session, project.
    #[arg(long, default_value = "day")]
    pub by: String,
    /// From this date or time (inclusive).
    #[arg(long)]
    pub since: Option<String>,
    /// Until this date or time (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Ledger file (default: as `promptmeter proxy`).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// What routing saved, per rule and per day (issue 5).
    #[arg(long)]
    pub savings: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (config, _) = super::proxy::load_config(&std::env::current_dir()?)?;
    let calendar = super::proxy::calendar(&config, local_offset())?;
    let offset = calendar.offset;
    let Some(by) = GroupBy::parse(&args.by) else {
        anyhow::bail!("--by must be one of day, week, month, provider, model, session, project");
    };
    let parse = |s: &Option<String>, what: &str| -> anyhow::Result<Option<i64>> {
        match s {
            None => Ok(None),
            Some(s) => parse_time(s, offset)
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("--{what} {s:?}: expected YYYY-MM-DD or an RFC 3339 time")),
        }
    };
    let since = parse(&args.since, "since")?;
    let until = parse(&args.until, "until")?;
    let path = super::proxy::ledger_path(&config, args.ledger.as_deref());
    let records = if path.exists() {
        // Records a proxy that died had released but not yet committed (a no-op while a
        // proxy runs on this ledger, or when the ledger is not writable).
        let _ = promptmeter_ledger::spool::recover(&path);
        Ledger::open_read_only(&path)?.between(since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX))?
    } else {
        Vec::new()
    };
    if args.savings {
        let named = &config.proxy.named;
        let text = promptmeter_proxy::policy::savings::report(&records, named, offset, args.json);
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let (rows, total) = aggregate(&records, by, &calendar);
    let report = Report {
        group_by: args.by.clone(),
        since: args.since,
        until: args.until,
        rows,
        total,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

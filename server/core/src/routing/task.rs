//! Task rules: automated work (heartbeats, titles, summaries, cron jobs) recognised by the
//! `x-promptmeter-task` header, the user agent, the path, or a pattern in the system prompt or
//! the body, and sent to a named model and/or upstream. Every condition a rule gives must
//! match; the first matching rule wins.

use regex::{Regex, RegexBuilder};

use super::RoutingError;
use super::request::RequestFacts;
use crate::config::budget::TaskRuleConfig;

/// Compiled patterns stay small: a rule is configuration, not a program.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct TaskRule {
    pub name: String,
    task: Option<String>,
    user_agent: Option<Regex>,
    path: Option<Regex>,
    system: Option<Regex>,
    body: Option<regex::bytes::Regex>,
    pub model: Option<String>,
    pub upstream: Option<String>,
}

fn compile(rule: &str, field: &str, pattern: &Option<String>) -> Result<Option<Regex>, RoutingError> {
    pattern
        .as_deref()
        .map(|p| {
            RegexBuilder::new(p)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| RoutingError::new(rule, format!("{field}: {e}")))
        })
        .transpose()
}

impl TaskRule {
    pub fn from_config(i: usize, c: &TaskRuleConfig) -> Result<TaskRule, RoutingError> {
        let name = if c.name.trim().is_empty() {
            format!("tasks[{i}]")
        } else {
            c.name.clone()
        };
        let body = c
            .body
            .as_deref()
            .map(|p| {
                regex::bytes::RegexBuilder::new(p)
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .build()
                    .map_err(|e| RoutingError::new(&name, format!("body: {e}")))
            })
            .transpose()?;
        let rule = TaskRule {
            task: c.task.as_ref().map(|t| t.trim().to_ascii_lowercase()),
            user_agent: compile(&name, "user_agent", &c.user_agent)?,
            path: compile(&name, "path", &c.path)?,
            system: compile(&name, "system", &c.system)?,
            body,
            model: c.model.clone().filter(|m| !m.trim().is_empty()),
            upstream: c.upstream.clone().filter(|u| !u.trim().is_empty()),
            name,
        };
        if rule.task.is_none()
            && rule.user_agent.is_none()
            && rule.path.is_none()
            && rule.system.is_none()
            && rule.body.is_none()
        {
            return Err(RoutingError::new(
                &rule.name,
                "needs a condition: task, user_agent, path, system or body".into(),
            ));
        }
        if rule.model.is_none() && rule.upstream.is_none() {
            return Err(RoutingError::new(
                &rule.name,
                "needs a target: model or upstream".into(),
            ));
        }
        Ok(rule)
    }

    /// Does every condition of this rule hold for the request?
    pub fn matches(&self, f: &RequestFacts, body: &[u8]) -> bool {
        let task_ok = self
            .task
            .as_ref()
            .is_none_or(|t| f.task.as_deref().is_some_and(|h| h.trim().eq_ignore_ascii_case(t)));
        let re_ok =
            |re: &Option<Regex>, s: Option<&str>| re.as_ref().is_none_or(|re| s.is_some_and(|s| re.is_match(s)));
        task_ok
            && re_ok(&self.user_agent, f.user_agent.as_deref())
            && re_ok(&self.path, Some(&f.path))
            && re_ok(&self.system, Some(&f.system))
            && self.body.as_ref().is_none_or(|re| re.is_match(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> Result<TaskRule, RoutingError> {
        let c: TaskRuleConfig = toml::from_str(toml_text).unwrap();
        TaskRule::from_config(0, &c)
    }

    fn req(task: Option<&str>, ua: Option<&str>, path: &str, system: &str) -> RequestFacts {
        RequestFacts {
            task: task.map(str::to_string),
            user_agent: ua.map(str::to_string),
            path: path.into(),
            system: system.into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_condition_matches_and_all_must_hold() {
        let r = rule("name = \"hb\"\ntask = \"Heartbeat\"\nmodel = \"claude-haiku-4-5\"").unwrap();
        assert!(r.matches(&req(Some("heartbeat"), None, "/v1/messages", ""), b""));
        assert!(!r.matches(&req(Some("heartbeats"), None, "/v1/messages", ""), b""));
        assert!(!r.matches(&req(None, None, "/v1/messages", ""), b""));

        let r = rule("name = \"cron\"\nuser_agent = \"^cron/\"\npath = \"/v1/chat\"\nupstream = \"local\"").unwrap();
        assert!(r.matches(&req(None, Some("cron/1.0"), "/v1/chat/completions", ""), b""));
        assert!(!r.matches(&req(None, Some("cron/1.0"), "/v1/responses", ""), b""));
        assert!(!r.matches(&req(None, None, "/v1/chat/completions", ""), b""));

        let r = rule("name = \"titles\"\nsystem = \"(?i)write a.*title\"\nmodel = \"m\"").unwrap();
        assert!(r.matches(&req(None, None, "/", "Please WRITE A 5-word TITLE"), b""));
        assert!(!r.matches(&req(None, None, "/", "You are a coding agent"), b""));

        let r = rule("name = \"sum\"\nbody = '\"summarize\"'\nmodel = \"m\"").unwrap();
        assert!(r.matches(&req(None, None, "/", ""), br#"{"kind":"summarize"}"#));
        assert!(r.matches(&req(None, None, "/", ""), b"\xff\xfe \"summarize\""));
        assert!(!r.matches(&req(None, None, "/", ""), b"{}"));
    }

    #[test]
    fn bad_rules_are_errors_naming_the_rule() {
        for (text, needle) in [
            ("name = \"a\"\nmodel = \"m\"", "needs a condition"),
            ("name = \"a\"\ntask = \"x\"", "needs a target"),
            ("name = \"a\"\nsystem = \"(\"\nmodel = \"m\"", "system:"),
            ("name = \"a\"\nbody = \"[\"\nmodel = \"m\"", "body:"),
            (
                "name = \"a\"\nuser_agent = \"a{99999999}\"\nmodel = \"m\"",
                "user_agent:",
            ),
        ] {
            let e = rule(text).unwrap_err().to_string();
            assert!(e.contains("[[routing.tasks]] a") && e.contains(needle), "{e}");
        }
    }
}

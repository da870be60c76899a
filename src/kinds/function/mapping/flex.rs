//! Conversions between a trigger's settings and Lambda's event source mapping types.

use aws_sdk_lambda::types as lam;

use super::{LiveMapping, MappingSettings, Tuning};
use crate::spec::StartingPosition;

/// The filter every create and update sends: no patterns is an empty `FilterCriteria` object
/// (`{}`), which is how AWS documents removing a mapping's filters.
pub(super) fn filter_criteria(t: &Tuning) -> lam::FilterCriteria {
    let filters: Vec<lam::Filter> = t.filter.iter().map(|p| lam::Filter::builder().pattern(p.to_string()).build()).collect();
    lam::FilterCriteria::builder().set_filters((!filters.is_empty()).then_some(filters)).build()
}

pub(super) fn position(p: StartingPosition) -> &'static str {
    match p {
        StartingPosition::Latest => "LATEST",
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
    }
}

/// The settings a create and an update both send, in full, on either request builder (the
/// SDK gives them no common trait).
macro_rules! with_settings {
    ($req:expr, $s:expr) => {{
        let s: &MappingSettings = $s;
        let types = if s.report_batch_item_failures { vec![lam::FunctionResponseType::ReportBatchItemFailures] } else { vec![] };
        $req.batch_size(s.batch_size as i32)
            .enabled(s.enabled)
            .set_function_response_types(Some(types))
            .maximum_retry_attempts(s.tuning.maximum_retry_attempts as i32)
            .maximum_record_age_in_seconds(s.tuning.maximum_record_age_s as i32)
            .bisect_batch_on_function_error(s.tuning.bisect_batch_on_error)
            .parallelization_factor(s.tuning.parallelization_factor as i32)
            .maximum_batching_window_in_seconds(s.tuning.batching_window_s as i32)
            .filter_criteria(filter_criteria(&s.tuning))
    }};
}
pub(super) use with_settings;

/// The on-failure destination: an update always sends it (`""` removes one, rule 20); a create
/// only when there is one.
pub(super) fn destination(s: &MappingSettings) -> lam::DestinationConfig {
    lam::DestinationConfig::builder().on_failure(lam::OnFailure::builder().destination(&s.tuning.on_failure).build()).build()
}

pub(super) fn live_of(m: &lam::EventSourceMappingConfiguration) -> LiveMapping {
    LiveMapping {
        uuid: m.uuid().unwrap_or_default().to_string(),
        source_arn: m.event_source_arn().unwrap_or_default().to_string(),
        qualifier: m
            .function_arn()
            .and_then(|a| a.split_once(":function:"))
            .and_then(|(_, rest)| rest.split_once(':'))
            .map(|(_, q)| q.to_string()),
        batch_size: m.batch_size().map(i64::from),
        starting_position: m.starting_position().map(|p| p.as_str().to_string()),
        state: m.state().unwrap_or("Enabled").to_string(),
        report_batch_item_failures: m.function_response_types().contains(&lam::FunctionResponseType::ReportBatchItemFailures),
        last_processing_result: m.last_processing_result().map(str::to_string),
        tuning: {
            let d = Tuning::aws_default();
            let patterns = m.filter_criteria().map(|f| f.filters()).unwrap_or_default().iter().filter_map(|f| f.pattern());
            Tuning {
                maximum_retry_attempts: m.maximum_retry_attempts().map_or(d.maximum_retry_attempts, i64::from),
                maximum_record_age_s: m.maximum_record_age_in_seconds().map_or(d.maximum_record_age_s, i64::from),
                bisect_batch_on_error: m.bisect_batch_on_function_error().unwrap_or(d.bisect_batch_on_error),
                parallelization_factor: m.parallelization_factor().map_or(d.parallelization_factor, i64::from),
                batching_window_s: m.maximum_batching_window_in_seconds().map_or(d.batching_window_s, i64::from),
                // A pattern AWS holds is JSON; one that is not is kept as text, so it differs.
                filter: patterns.map(|p| serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.into()))).collect(),
                on_failure: m.destination_config().and_then(|d| d.on_failure()).and_then(|o| o.destination()).unwrap_or("").to_string(),
            }
        },
    }
}

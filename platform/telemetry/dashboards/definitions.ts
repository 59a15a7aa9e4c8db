// Flywheel's five dashboards (issue 8): Functions, Inference, Training, Drift, Broker. Metric names are the code's own.
import { quantiles, type DashboardSpec } from "./model.ts";

const fn = `function=~"$function"`;

export const FUNCTIONS: DashboardSpec = {
  uid: "flywheel-functions",
  title: "Flywheel / Functions",
  description: "Invocations, errors, duration percentiles and cold starts of every Flywheel function.",
  variables: { function: ["flywheel_function_invocations_total", "function"] },
  rows: [
    {
      title: "Traffic and errors",
      panels: [
        { title: "Invocations per second", unit: "reqps", targets: [{ expr: `sum by (function) (rate(flywheel_function_invocations_total{${fn}}[5m]))`, legend: "{{function}}" }] },
        {
          title: "Errors per second by outcome",
          unit: "reqps",
          description: "rejected = bad event, acknowledged and never retried; retry = the broker retries; error = unexpected failure.",
          stacked: true,
          targets: [{ expr: `sum by (function, outcome) (rate(flywheel_function_invocations_total{${fn}, outcome!="success"}[5m]))`, legend: "{{function}} {{outcome}}" }],
        },
        {
          title: "Error ratio",
          unit: "percentunit",
          targets: [
            {
              expr: `sum by (function) (rate(flywheel_function_invocations_total{${fn}, outcome=~"error|retry"}[5m])) / sum by (function) (rate(flywheel_function_invocations_total{${fn}}[5m]))`,
              legend: "{{function}}",
            },
          ],
        },
        { title: "Cold starts per hour", unit: "short", type: "bargauge", targets: [{ expr: `sum by (function) (increase(flywheel_function_cold_starts_total{${fn}}[1h]))`, legend: "{{function}}" }] },
      ],
    },
    {
      title: "Latency",
      panels: [{ title: "Duration p50 / p95 / p99", unit: "s", w: 24, targets: quantiles("flywheel_function_duration_seconds", "function", `{${fn}}`) }],
    },
    {
      title: "Process",
      panels: [
        { title: "Resident memory", unit: "bytes", targets: [{ expr: "sum by (service) (flywheel_process_resident_memory_bytes)", legend: "{{service}}" }] },
        { title: "Event loop lag p99", unit: "s", targets: [{ expr: "max by (service) (flywheel_nodejs_eventloop_lag_p99_seconds)", legend: "{{service}}" }] },
      ],
    },
  ],
};

const mv = `model=~"$model", version=~"$version"`;

export const INFERENCE: DashboardSpec = {
  uid: "flywheel-inference",
  title: "Flywheel / Inference",
  description: "Requests, latency and errors per model and version; experiment split and mirror (shadow) traffic.",
  variables: { model: ["flywheel_inference_requests_total", "model"], version: ["flywheel_inference_requests_total", "version"] },
  rows: [
    {
      title: "Requests",
      panels: [
        { title: "Requests per second", unit: "reqps", stacked: true, targets: [{ expr: `sum by (model, version) (rate(flywheel_inference_requests_total{${mv}}[5m]))`, legend: "{{model}} v{{version}}" }] },
        {
          title: "Errors per second by status code",
          unit: "reqps",
          targets: [{ expr: `sum by (model, version, code) (rate(flywheel_inference_requests_total{${mv}, code!~"2.."}[5m]))`, legend: "{{model}} v{{version}} {{code}}" }],
        },
      ],
    },
    {
      title: "Latency",
      panels: [
        { title: "Latency p50 / p95 / p99", unit: "s", targets: quantiles("flywheel_inference_request_duration_seconds", "model, version", `{${mv}}`) },
        { title: "Batch size (median)", unit: "short", targets: [{ expr: `histogram_quantile(0.5, sum by (le, model, version) (rate(flywheel_inference_batch_size_bucket{${mv}}[5m])))`, legend: "{{model}} v{{version}}" }] },
      ],
    },
    {
      title: "Experiments",
      panels: [
        {
          title: "Experiment split (share of requests per candidate)",
          unit: "percentunit",
          stacked: true,
          targets: [
            {
              expr: "sum by (deployment, candidate) (rate(flywheel_experiment_routed_total[5m])) / ignoring(candidate) group_left sum by (deployment) (rate(flywheel_experiment_routed_total[5m]))",
              legend: "{{deployment}} → {{candidate}}",
            },
          ],
        },
        { title: "Mirror traffic", unit: "reqps", targets: [{ expr: "sum by (deployment, mirror, outcome) (rate(flywheel_experiment_mirrored_total[5m]))", legend: "{{deployment}} ⇒ {{mirror}} {{outcome}}" }] },
      ],
    },
  ],
};

const trainingTypes = `type=~"dev.flywheel.training.(requested|started|succeeded|failed|cancelled)"`;

export const TRAINING: DashboardSpec = {
  uid: "flywheel-training",
  title: "Flywheel / Training",
  description:
    "Training jobs by kind and state, their durations and failure reasons (from the training backend's status stream), the loop's training events, the launch and log steps, and Kafka requests.",
  rows: [
    {
      title: "Jobs by kind",
      panels: [
        {
          title: "Transitions per hour by kind and state",
          unit: "short",
          stacked: true,
          targets: [{ expr: "sum by (kind, state) (increase(flywheel_training_transitions_total[1h]))", legend: "{{kind}} {{state}}" }],
        },
        {
          title: "Failures per hour by reason",
          unit: "short",
          type: "bargauge",
          targets: [{ expr: 'sum by (kind, reason) (increase(flywheel_training_transitions_total{state="failed"}[1h]))', legend: "{{kind}} {{reason}}" }],
        },
        { title: "Job duration p50 / p95 / p99", unit: "s", targets: quantiles("flywheel_training_job_duration_seconds", "kind", "", "1h") },
      ],
    },
    {
      title: "Jobs",
      panels: [
        { title: "Jobs by state (events per hour)", unit: "short", stacked: true, targets: [{ expr: `sum by (type) (increase(flywheel_broker_events_received_total{${trainingTypes}}[1h]))`, legend: "{{type}}" }] },
        {
          title: "Failure share of finished jobs (1h)",
          unit: "percentunit",
          type: "stat",
          targets: [
            {
              expr: 'sum(increase(flywheel_broker_events_received_total{type="dev.flywheel.training.failed"}[1h])) / sum(increase(flywheel_broker_events_received_total{type=~"dev.flywheel.training.(succeeded|failed)"}[1h]))',
              legend: "failed",
            },
          ],
        },
      ],
    },
    {
      title: "Launch and log steps",
      panels: [
        {
          title: "launch-training and log-model outcomes",
          unit: "reqps",
          targets: [{ expr: 'sum by (function, outcome) (rate(flywheel_function_invocations_total{function=~"launchTraining|logModel"}[5m]))', legend: "{{function}} {{outcome}}" }],
        },
        { title: "Step duration p50 / p95 / p99", unit: "s", targets: quantiles("flywheel_function_duration_seconds", "function", '{function=~"launchTraining|logModel"}') },
        { title: "Model gate decisions per hour", unit: "short", targets: [{ expr: 'sum by (type) (increase(flywheel_broker_events_received_total{type=~"dev.flywheel.model.(logged|promoted|rejected)"}[1h]))', legend: "{{type}}" }] },
        { title: "Kafka training requests", unit: "short", targets: [{ expr: "sum by (outcome) (rate(flywheel_kafka_records_total[5m]))", legend: "{{outcome}}" }] },
      ],
    },
  ],
};

export const DRIFT: DashboardSpec = {
  uid: "flywheel-drift",
  title: "Flywheel / Drift",
  description: "Drift score (PSI) per feature, drift alerts, and retrain decisions.",
  variables: { model: ["flywheel_model_drift_score", "model"] },
  rows: [
    {
      title: "Drift",
      panels: [
        { title: "Drift score (PSI) per feature", unit: "short", w: 24, targets: [{ expr: 'max by (model, version, feature) (flywheel_model_drift_score{model=~"$model"})', legend: "{{model}} v{{version}} {{feature}}" }] },
        { title: "Drift detections per hour", unit: "short", targets: [{ expr: 'sum by (model, version) (increase(flywheel_model_drift_detected_total{model=~"$model"}[1h]))', legend: "{{model}} v{{version}}" }] },
        { title: "Firing drift alerts", unit: "short", type: "table", targets: [{ expr: 'ALERTS{alertname="ModelDriftDetected", alertstate="firing"}', legend: "{{model}} v{{version}}" }] },
      ],
    },
    {
      title: "Retraining",
      panels: [
        {
          title: "Retrain decisions and resulting trainings per hour",
          unit: "short",
          targets: [
            { expr: 'sum(increase(flywheel_broker_events_received_total{type="dev.flywheel.retrain.decided"}[1h]))', legend: "decisions" },
            { expr: 'sum(increase(flywheel_broker_events_received_total{type="dev.flywheel.alert.firing"}[1h]))', legend: "alerts in" },
          ],
        },
        { title: "retrain-on-drift outcomes", unit: "reqps", targets: [{ expr: 'sum by (outcome) (rate(flywheel_function_invocations_total{function="retrainOnDrift"}[5m]))', legend: "{{outcome}}" }] },
        { title: "Drift window fill", unit: "short", targets: [{ expr: 'sum by (model, version) (flywheel_drift_window_samples{model=~"$model"})', legend: "{{model}} v{{version}}" }] },
        { title: "Observations dropped (queue full)", unit: "short", targets: [{ expr: "sum(rate(flywheel_drift_observations_dropped_total[5m]))", legend: "dropped/s" }] },
      ],
    },
  ],
};

export const BROKER: DashboardSpec = {
  uid: "flywheel-broker",
  title: "Flywheel / Broker",
  description: "Events in, deliveries by trigger and outcome, retries, dead letters and delivery latency.",
  variables: { trigger: ["flywheel_broker_deliveries_total", "trigger"] },
  rows: [
    {
      title: "Ingress",
      panels: [
        { title: "Events received per second by type", unit: "reqps", stacked: true, targets: [{ expr: "sum by (type) (rate(flywheel_broker_events_received_total[5m]))", legend: "{{type}}" }] },
        { title: "Ingress rejections", unit: "reqps", targets: [{ expr: "sum by (code) (rate(flywheel_broker_ingress_rejected_total[5m]))", legend: "{{code}}" }] },
      ],
    },
    {
      title: "Delivery",
      panels: [
        { title: "Deliveries per second by outcome", unit: "reqps", stacked: true, targets: [{ expr: 'sum by (trigger, outcome) (rate(flywheel_broker_deliveries_total{trigger=~"$trigger"}[5m]))', legend: "{{trigger}} {{outcome}}" }] },
        { title: "Retries per second", unit: "reqps", targets: [{ expr: 'sum by (trigger) (rate(flywheel_broker_deliveries_total{trigger=~"$trigger", outcome="retry"}[5m]))', legend: "{{trigger}}" }] },
        { title: "Dead letters per hour", unit: "short", targets: [{ expr: 'sum by (trigger) (increase(flywheel_broker_deliveries_total{trigger=~"$trigger", outcome="dead_letter"}[1h]))', legend: "{{trigger}}" }] },
        { title: "Pending deliveries", unit: "short", targets: [{ expr: "sum(flywheel_broker_pending_deliveries)", legend: "pending" }] },
        { title: "Delivery latency p50 / p95 / p99", unit: "s", targets: quantiles("flywheel_broker_delivery_duration_seconds", "trigger", '{trigger=~"$trigger"}') },
        { title: "dead-letter function stores", unit: "reqps", targets: [{ expr: 'sum by (outcome) (rate(flywheel_function_invocations_total{function="deadLetter"}[5m]))', legend: "{{outcome}}" }] },
      ],
    },
  ],
};

export const DASHBOARDS = { functions: FUNCTIONS, inference: INFERENCE, training: TRAINING, drift: DRIFT, broker: BROKER } as const;

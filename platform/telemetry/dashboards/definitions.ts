// Flywheel's dashboards: Functions, Inference, Training, Drift, Broker, Platform. Metric names are the code's own; a
// panel whose series exist in one mode only says so (`modes`), and test/integration/telemetry/dashboards-live checks
// every panel against live expositions of that mode.
import { DEFAULT_RULE_OPTIONS, RECORDED } from "../rules.ts";
import { quantiles, type DashboardSpec } from "./model.ts";

const E = ["embedded"] as const;

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
        { title: "Requests per second", unit: "reqps", stacked: true, modes: E, targets: [{ expr: `sum by (model, version) (rate(flywheel_inference_requests_total{${mv}}[5m]))`, legend: "{{model}} v{{version}}" }] },
        {
          title: "Errors per second by status code",
          unit: "reqps",
          modes: E,
          targets: [{ expr: `sum by (model, version, code) (rate(flywheel_inference_requests_total{${mv}, code!~"2.."}[5m]))`, legend: "{{model}} v{{version}} {{code}}" }],
        },
      ],
    },
    {
      title: "Latency",
      panels: [
        { title: "Latency p50 / p95 / p99", unit: "s", modes: E, targets: quantiles("flywheel_inference_request_duration_seconds", "model, version", `{${mv}}`) },
        { title: "Batch size (median)", unit: "short", modes: E, when: "adaptive batching is configured (maxBatchSize > 1)", targets: [{ expr: `histogram_quantile(0.5, sum by (le, model, version) (rate(flywheel_inference_batch_size_bucket{${mv}}[5m])))`, legend: "{{model}} v{{version}}" }] },
      ],
    },
    {
      title: "Through infer (every replica, both modes)",
      panels: [
        {
          title: "Requests per second by deployment, answering candidate and outcome",
          unit: "reqps",
          description: "Counted by infer: the candidate is the experiment arm that answered (route header), else the deployment. What canary decisions query.",
          targets: [{ expr: "sum by (deployment, candidate, outcome) (rate(flywheel_infer_candidate_requests_total[5m]))", legend: "{{deployment}} → {{candidate}} {{outcome}}" }],
        },
        { title: "Latency by answering candidate p50 / p95 / p99", unit: "s", targets: quantiles("flywheel_infer_candidate_duration_seconds", "deployment, candidate") },
      ],
    },
    {
      title: "Experiments",
      panels: [
        {
          title: "Experiment split (share of requests per candidate)",
          unit: "percentunit",
          stacked: true,
          modes: E,
          targets: [
            {
              expr: "sum by (deployment, candidate) (rate(flywheel_experiment_routed_total[5m])) / ignoring(candidate) group_left sum by (deployment) (rate(flywheel_experiment_routed_total[5m]))",
              legend: "{{deployment}} → {{candidate}}",
            },
          ],
        },
        { title: "Mirror traffic", unit: "reqps", modes: E, targets: [{ expr: "sum by (deployment, mirror, outcome) (rate(flywheel_experiment_mirrored_total[5m]))", legend: "{{deployment}} ⇒ {{mirror}} {{outcome}}" }] },
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
          modes: E,
          targets: [{ expr: "sum by (kind, state) (increase(flywheel_training_transitions_total[1h]))", legend: "{{kind}} {{state}}" }],
        },
        {
          title: "Failures per hour by reason",
          unit: "short",
          type: "bargauge",
          modes: E,
          targets: [{ expr: 'sum by (kind, reason) (increase(flywheel_training_transitions_total{state="failed"}[1h]))', legend: "{{kind}} {{reason}}" }],
        },
        { title: "Job duration p50 / p95 / p99", unit: "s", modes: E, targets: quantiles("flywheel_training_job_duration_seconds", "kind", "", "1h") },
      ],
    },
    {
      title: "Jobs",
      panels: [
        { title: "Jobs by state (events per hour)", unit: "short", stacked: true, modes: E, targets: [{ expr: `sum by (type) (increase(flywheel_broker_events_received_total{${trainingTypes}}[1h]))`, legend: "{{type}}" }] },
        {
          title: "Failure share of finished jobs (1h)",
          unit: "percentunit",
          type: "stat",
          modes: E,
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
        { title: "Model gate decisions per hour", unit: "short", modes: E, targets: [{ expr: 'sum by (type) (increase(flywheel_broker_events_received_total{type=~"dev.flywheel.model.(logged|promoted|rejected)"}[1h]))', legend: "{{type}}" }] },
        { title: "Kafka training requests", unit: "short", modes: E, when: "FLYWHEEL_KAFKA_BROKERS is set", description: "Embedded Kafka bridge; in a cluster the KafkaSource delivers to retrain-on-drift.", targets: [{ expr: "sum by (outcome) (rate(flywheel_kafka_records_total[5m]))", legend: "{{outcome}}" }] },
      ],
    },
  ],
};

const W = DEFAULT_RULE_OPTIONS.driftWindow;
const OW = DEFAULT_RULE_OPTIONS.outlierWindow;
const AW = DEFAULT_RULE_OPTIONS.accuracyWindow;

export const DRIFT: DashboardSpec = {
  uid: "flywheel-drift",
  title: "Flywheel / Drift",
  description: `PSI per feature computed by Prometheus from every infer replica's bin counters over ${W}, outliers, drift alerts and retrain decisions.`,
  variables: { model: ["flywheel_drift_bin_observations_total", "model"] },
  rows: [
    {
      title: "Drift (all replicas)",
      panels: [
        {
          title: `PSI per feature (${W} of traffic)`,
          unit: "short",
          w: 24,
          description: `Recorded by the rule ${RECORDED.psi(W)}: served bins summed over replicas against the baseline. ModelDriftDetected fires above ${DEFAULT_RULE_OPTIONS.driftThreshold}.`,
          targets: [{ expr: `max by (model, version, feature) (${RECORDED.psi(W)}{model=~"$model"})`, legend: "{{model}} v{{version}} {{feature}}" }],
        },
        { title: "Prediction drift (PSI)", unit: "short", targets: [{ expr: `max by (model, version) (${RECORDED.predictionPsi(W)}{model=~"$model"})`, legend: "{{model}} v{{version}}" }] },
        { title: `Served values per feature (${W})`, unit: "short", targets: [{ expr: `sum by (model, version, feature) (${RECORDED.observations(W)}{model=~"$model"})`, legend: "{{model}} v{{version}} {{feature}}" }] },
        {
          title: "Served vs baseline share per bin",
          unit: "percentunit",
          type: "table",
          targets: [
            { expr: `${RECORDED.binProportion(W)}{model=~"$model"}`, legend: "served {{feature}} {{bin}}" },
            { expr: `${RECORDED.baselineProportion}{model=~"$model"}`, legend: "baseline {{feature}} {{bin}}" },
          ],
        },
        { title: "Firing drift alerts", unit: "short", type: "table", targets: [{ expr: 'ALERTS{alertname="ModelDriftDetected", alertstate="firing"}', legend: "{{model}} v{{version}}" }] },
      ],
    },
    {
      title: "Outliers",
      panels: [
        {
          title: `Outlier share per feature (${OW})`,
          unit: "percentunit",
          description: `Values outside the baseline's range or beyond |z| > 4. ModelOutliersHigh fires above ${DEFAULT_RULE_OPTIONS.outlierRatio * 100}%.`,
          targets: [{ expr: `max by (model, version, feature) (${RECORDED.outlierRatio(OW)}{model=~"$model"})`, legend: "{{model}} v{{version}} {{feature}}" }],
        },
        { title: "Outliers per second", unit: "reqps", targets: [{ expr: 'sum by (model, version, feature) (rate(flywheel_model_outliers_total{model=~"$model"}[5m]))', legend: "{{model}} v{{version}} {{feature}}" }] },
      ],
    },
    {
      title: "Live accuracy (feedback labels, all replicas)",
      panels: [
        {
          title: `Live accuracy per version (${AW})`,
          unit: "percentunit",
          description: `Recorded by the rule ${RECORDED.liveAccuracy(AW)}: correct over all feedback labels joined by every infer replica in ${AW}. ModelAccuracyDropped fires below ${DEFAULT_RULE_OPTIONS.accuracyThreshold} with at least ${DEFAULT_RULE_OPTIONS.accuracyMinSamples} labels.`,
          targets: [{ expr: `${RECORDED.liveAccuracy(AW)}{model=~"$model"}`, legend: "{{model}} v{{version}}" }],
        },
        { title: `Feedback labels (${AW})`, unit: "short", stacked: true, targets: [{ expr: `${RECORDED.feedback(AW)}{model=~"$model"}`, legend: "{{model}} v{{version}} {{outcome}}" }] },
      ],
    },
    {
      title: "Retraining",
      panels: [
        { title: "Retrain decisions per hour", unit: "short", targets: [{ expr: "sum by (model, decision) (increase(flywheel_retrain_decisions_total[1h]))", legend: "{{model}} {{decision}}" }] },
        { title: "retrain-on-drift outcomes", unit: "reqps", targets: [{ expr: 'sum by (outcome) (rate(flywheel_function_invocations_total{function="retrainOnDrift"}[5m]))', legend: "{{outcome}}" }] },
      ],
    },
    {
      title: "Live view (in-process monitor)",
      panels: [
        {
          title: "In-process drift score",
          unit: "short",
          modes: E,
          description: "The embedded monitor's sliding window (the UI's live view); alerts use the recorded PSI above.",
          targets: [{ expr: 'max by (model, version, feature) (flywheel_model_drift_score{model=~"$model"})', legend: "{{model}} v{{version}} {{feature}}" }],
        },
        { title: "Drift window fill", unit: "short", modes: E, targets: [{ expr: 'sum by (model, version) (flywheel_drift_window_samples{model=~"$model"})', legend: "{{model}} v{{version}}" }] },
        { title: "Observations dropped (queue full)", unit: "short", modes: E, targets: [{ expr: "sum(rate(flywheel_drift_observations_dropped_total[5m]))", legend: "dropped/s" }] },
        { title: "Drift detections per hour", unit: "short", modes: E, targets: [{ expr: 'sum by (model, version) (increase(flywheel_model_drift_detected_total{model=~"$model"}[1h]))', legend: "{{model}} v{{version}}" }] },
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
        { title: "Events received per second by type", unit: "reqps", stacked: true, modes: E, targets: [{ expr: "sum by (type) (rate(flywheel_broker_events_received_total[5m]))", legend: "{{type}}" }] },
        { title: "Ingress rejections", unit: "reqps", modes: E, targets: [{ expr: "sum by (code) (rate(flywheel_broker_ingress_rejected_total[5m]))", legend: "{{code}}" }] },
      ],
    },
    {
      title: "Delivery",
      panels: [
        { title: "Deliveries per second by outcome", unit: "reqps", stacked: true, modes: E, targets: [{ expr: 'sum by (trigger, outcome) (rate(flywheel_broker_deliveries_total{trigger=~"$trigger"}[5m]))', legend: "{{trigger}} {{outcome}}" }] },
        { title: "Retries per second", unit: "reqps", modes: E, targets: [{ expr: 'sum by (trigger) (rate(flywheel_broker_deliveries_total{trigger=~"$trigger", outcome="retry"}[5m]))', legend: "{{trigger}}" }] },
        { title: "Dead letters per hour by type", unit: "short", targets: [{ expr: "sum by (type) (increase(flywheel_dead_letters_total[1h]))", legend: "{{type}}" }] },
        { title: "Pending deliveries", unit: "short", modes: E, targets: [{ expr: "sum(flywheel_broker_pending_deliveries)", legend: "pending" }] },
        { title: "Delivery latency p50 / p95 / p99", unit: "s", modes: E, targets: quantiles("flywheel_broker_delivery_duration_seconds", "trigger", '{trigger=~"$trigger"}') },
        { title: "dead-letter function stores", unit: "reqps", targets: [{ expr: 'sum by (outcome) (rate(flywheel_function_invocations_total{function="deadLetter"}[5m]))', legend: "{{outcome}}" }] },
      ],
    },
  ],
};

const PW = DEFAULT_RULE_OPTIONS.platformWindow;

export const PLATFORM: DashboardSpec = {
  uid: "flywheel-platform",
  title: "Flywheel / Platform",
  description: "Flywheel watching itself: the platform alerts (dead letters, failing functions, broker backlog, stuck retrains) and the series they fire on.",
  rows: [
    {
      title: "Alerts",
      panels: [{ title: "Firing platform alerts", unit: "short", type: "table", w: 24, targets: [{ expr: 'ALERTS{alertname=~"Flywheel.+", alertstate="firing"}', legend: "{{alertname}}" }] }],
    },
    {
      title: "What they fire on",
      panels: [
        { title: `Dead letters (${PW})`, unit: "short", description: "FlywheelDeadLettersGrowing fires on any.", targets: [{ expr: `sum by (type) (increase(flywheel_dead_letters_total[${PW}]))`, legend: "{{type}}" }] },
        {
          title: "Function failure ratio",
          unit: "percentunit",
          description: "FlywheelFunctionFailing fires above 10% for 10 min.",
          targets: [{ expr: `sum by (function) (rate(flywheel_function_invocations_total{outcome=~"error|retry"}[${PW}])) / sum by (function) (rate(flywheel_function_invocations_total[${PW}]))`, legend: "{{function}}" }],
        },
        { title: "Broker backlog", unit: "short", modes: E, description: "FlywheelBrokerBacklogGrowing fires when it never drains and keeps growing.", targets: [{ expr: "sum(flywheel_broker_pending_deliveries)", legend: "pending" }] },
        {
          title: "Retrains started vs finished (12h)",
          unit: "short",
          description: "FlywheelRetrainStuck fires when more started than ended, 2 h after the start.",
          targets: [
            { expr: 'sum by (model) (increase(flywheel_retrain_decisions_total{decision="started"}[12h]))', legend: "{{model}} started" },
            { expr: "sum by (model) (increase(flywheel_retrain_trainings_finished_total[12h]))", legend: "{{model}} finished" },
          ],
        },
      ],
    },
  ],
};

export const DASHBOARDS = { functions: FUNCTIONS, inference: INFERENCE, training: TRAINING, drift: DRIFT, broker: BROKER, platform: PLATFORM } as const;

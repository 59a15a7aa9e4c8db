// Knative mode: one CloudEvent per sampled request, after KServe's payload logger (type
// org.kubeflow.serving.inference.response, id = the request id, extensions inferenceservicename / namespace /
// component / endpoint), and the sink that writes such events into the same day-partitioned layout.
import { CloudEvent } from "cloudevents";
import * as z from "zod";
import { ValidationError } from "../errors.ts";
import { zodIssues, type AnyCloudEvent } from "../events/index.ts";
import type { EventBus } from "../ports.ts";
import type { InferenceLogSink } from "./logger.ts";
import type { FileInferenceLog, LogRecord } from "./store.ts";

export const KSERVE_RESPONSE_TYPE = "org.kubeflow.serving.inference.response";

const LogRecordSchema = z.lazy(() =>
  z
    .object({
      requestId: z.string().min(1),
      time: z.number().int().nonnegative(),
      deployment: z.string().min(1),
      model: z.string().optional(),
      version: z.string().optional(),
      rows: z.array(z.record(z.string(), z.unknown())),
      predictions: z.array(z.union([z.string(), z.number()])),
      classes: z.array(z.string()).optional(),
    })
    .strict(),
);

export class CloudEventLogSink implements InferenceLogSink {
  constructor(private readonly o: { bus: EventBus; namespace: string; source: string }) {}

  async write(rec: LogRecord): Promise<void> {
    await this.o.bus.emit(
      new CloudEvent<unknown>({
        type: KSERVE_RESPONSE_TYPE,
        source: this.o.source,
        id: rec.requestId,
        time: new Date(rec.time).toISOString(),
        datacontenttype: "application/json",
        data: rec,
        inferenceservicename: rec.deployment,
        namespace: this.o.namespace,
        component: "predictor",
        endpoint: "default",
      }),
    );
  }
}

/** The sink side: validate and append. A replayed event (same request id already there) is a no-op. */
export function writeLogEvent(ce: AnyCloudEvent, store: FileInferenceLog): "written" | "duplicate" {
  const parsed = LogRecordSchema.safeParse(ce.data);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "data"));
  const rec = parsed.data;
  if (rec.requestId !== ce.id) throw new ValidationError([{ field: "id", message: "must equal data.requestId" }]);
  if (store.find(rec.deployment, rec.requestId, rec.time)) return "duplicate";
  store.append(rec);
  return "written";
}

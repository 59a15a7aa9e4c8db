// Registry half of the MLflow client: registered models, model versions, tags, aliases, download URIs.
import * as z from "zod";
import { ModelVersionSchema, RegisteredModelSchema, parseAs, type ModelVersion, type Page, type RegisteredModel } from "./schemas.ts";
import { paginate, TrackingClient, type SearchOptions } from "./tracking.ts";

const pairs = (tags: Readonly<Record<string, string>> | undefined) => Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));

export interface CreateVersionOptions {
  readonly name: string;
  /** runs:/<run_id>/<path>, models:/m-<id>, or an artifact URI. */
  readonly source: string;
  readonly runId?: string | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
  readonly description?: string | undefined;
  readonly runLink?: string | undefined;
  /** MLflow 3.x logged model id. */
  readonly modelId?: string | undefined;
}

export class RegistryClient extends TrackingClient {
  async createRegisteredModel(name: string, opts: { tags?: Record<string, string>; description?: string } = {}): Promise<RegisteredModel> {
    const r = await this.call("POST", "mlflow/registered-models/create", { name, tags: pairs(opts.tags), description: opts.description });
    return parseAs(z.object({ registered_model: RegisteredModelSchema }), r, "registered-models/create").registered_model;
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const r = await this.call("GET", "mlflow/registered-models/get", { name });
    return parseAs(z.object({ registered_model: RegisteredModelSchema }), r, "registered-models/get").registered_model;
  }

  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    const r = await this.call("PATCH", "mlflow/registered-models/update", { name, description });
    return parseAs(z.object({ registered_model: RegisteredModelSchema }), r, "registered-models/update").registered_model;
  }

  async deleteRegisteredModel(name: string): Promise<void> {
    await this.call("DELETE", "mlflow/registered-models/delete", { name });
  }

  async searchRegisteredModels(opts: SearchOptions = {}): Promise<Page<RegisteredModel>> {
    const r = await this.call("GET", "mlflow/registered-models/search", {
      filter: opts.filter, max_results: opts.maxResults ?? 100, order_by: opts.orderBy, page_token: opts.pageToken,
    });
    const p = parseAs(z.object({ registered_models: z.array(RegisteredModelSchema).default([]), next_page_token: z.string().optional() }), r, "registered-models/search");
    return { items: p.registered_models, nextPageToken: p.next_page_token || undefined };
  }

  async *iterateRegisteredModels(opts: SearchOptions = {}): AsyncGenerator<RegisteredModel> {
    yield* paginate((pageToken) => this.searchRegisteredModels({ ...opts, pageToken }));
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.call("POST", "mlflow/registered-models/set-tag", { name, key, value });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.call("DELETE", "mlflow/registered-models/delete-tag", { name, key });
  }

  async createModelVersion(opts: CreateVersionOptions): Promise<ModelVersion> {
    const r = await this.call("POST", "mlflow/model-versions/create", {
      name: opts.name, source: opts.source, run_id: opts.runId, tags: pairs(opts.tags), run_link: opts.runLink,
      description: opts.description, model_id: opts.modelId,
    });
    return parseAs(z.object({ model_version: ModelVersionSchema }), r, "model-versions/create").model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const r = await this.call("GET", "mlflow/model-versions/get", { name, version });
    return parseAs(z.object({ model_version: ModelVersionSchema }), r, "model-versions/get").model_version;
  }

  async updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    const r = await this.call("PATCH", "mlflow/model-versions/update", { name, version, description });
    return parseAs(z.object({ model_version: ModelVersionSchema }), r, "model-versions/update").model_version;
  }

  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.call("DELETE", "mlflow/model-versions/delete", { name, version });
  }

  async searchModelVersions(opts: SearchOptions = {}): Promise<Page<ModelVersion>> {
    const r = await this.call("GET", "mlflow/model-versions/search", {
      filter: opts.filter, max_results: opts.maxResults, order_by: opts.orderBy, page_token: opts.pageToken,
    });
    const p = parseAs(z.object({ model_versions: z.array(ModelVersionSchema).default([]), next_page_token: z.string().optional() }), r, "model-versions/search");
    return { items: p.model_versions, nextPageToken: p.next_page_token || undefined };
  }

  async *iterateModelVersions(opts: SearchOptions = {}): AsyncGenerator<ModelVersion> {
    yield* paginate((pageToken) => this.searchModelVersions({ ...opts, pageToken }));
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call("POST", "mlflow/model-versions/set-tag", { name, version, key, value });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.call("DELETE", "mlflow/model-versions/delete-tag", { name, version, key });
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const r = await this.call("GET", "mlflow/model-versions/get-download-uri", { name, version });
    return parseAs(z.object({ artifact_uri: z.string() }), r, "model-versions/get-download-uri").artifact_uri;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call("POST", "mlflow/registered-models/alias", { name, alias, version });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const r = await this.call("GET", "mlflow/registered-models/alias", { name, alias });
    return parseAs(z.object({ model_version: ModelVersionSchema }), r, "registered-models/alias").model_version;
  }

  /**
   * The version an alias points at, or undefined when the model has no such alias. Decided from the model's aliases
   * (registered-models/get), never from an error: MLflow answers a missing alias and a malformed one alike
   * (400 INVALID_PARAMETER_VALUE), and a 3.x server words it differently.
   */
  async findModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const rm = await this.getRegisteredModel(name);
    const entry = rm.aliases.find((a) => a.alias === alias);
    return entry ? this.getModelVersion(name, entry.version) : undefined;
  }

  /** DELETE registered-models/alias with a JSON body {name, alias}. */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call("DELETE", "mlflow/registered-models/alias", { name, alias });
  }
}


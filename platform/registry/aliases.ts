// Registered model aliases: set (POST), get version by alias (GET), delete (DELETE with a JSON body).
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { invalid } from "./errors.ts";
import { modelRow } from "./models.ts";
import { run, type Db } from "./store.ts";
import { aliasVersion, versionJson, versionRow } from "./versions.ts";

function validateAlias(alias: string): void {
  if (alias.length > 256) throw invalid(`Alias name exceeds the maximum length of 256 characters.`);
  if (alias.toLowerCase() === "latest") throw invalid(`'${alias}' alias name (case insensitive) is reserved.`);
  if (/^v\d+$/i.test(alias) || /^version\d+$/i.test(alias)) {
    throw invalid(`Version alias name '${alias}' is reserved. Please use a different alias name.`);
  }
}

export function registerAliases(app: Hono, handle: Handle, db: Db, now: () => number): void {
  handle(app, "POST", "/mlflow/registered-models/alias", (m) => {
    const name = m.reqStr("name");
    const alias = m.reqStr("alias");
    const version = m.reqStr("version");
    validateAlias(alias);
    versionRow(db, name, version);
    db.transaction(() => {
      run(db, "INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)", name, alias, Number(version));
      run(db, "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?", now(), name);
    })();
    return {};
  });

  handle(app, "GET", "/mlflow/registered-models/alias", (m) => {
    const name = m.reqStr("name");
    const alias = m.reqStr("alias");
    // A missing model answers like a missing alias (400 INVALID_PARAMETER_VALUE), as MLflow does.
    return { model_version: versionJson(db, versionRow(db, name, aliasVersion(db, name, alias))) };
  });

  handle(app, "DELETE", "/mlflow/registered-models/alias", (m) => {
    const name = m.reqStr("name");
    const alias = m.reqStr("alias");
    modelRow(db, name);
    run(db, "DELETE FROM aliases WHERE name = ? AND alias = ?", name, alias);
    return {};
  });
}

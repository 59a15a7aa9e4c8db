// The floor for bench/coldstart: a bare functions-framework CloudEvent function that does nothing.
import * as ff from "@google-cloud/functions-framework";

ff.cloudEvent("hello", () => undefined);

// The floor for bench/coldstart: a bare functions-framework CloudEvent function that does nothing.
const ff = require("@google-cloud/functions-framework");
ff.cloudEvent("hello", () => undefined);

// Public surface of the event catalogue.
export * from "./catalogue.ts";
export * from "./envelope.ts";

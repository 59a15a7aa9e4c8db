// Public surface of the mode-independent eventing code: trigger file, filters, DeliverySpec, the deadLetter function.
export * from "./triggers.ts";
export * from "./filters.ts";
export * from "./delivery.ts";
export * from "./duration.ts";
export * from "./dead-letter-store.ts";
export * from "./dead-letter.ts";
export * from "./serialize.ts";

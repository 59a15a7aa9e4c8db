// Cron triggers: the schedules file, the embedded scheduler, PingSource generation and the ping -> training mapping.
export { CronScheduler, pingEvent, systemClock } from "./scheduler.ts";
export type { Clock, CronSchedulerOptions, ScheduleStatus } from "./scheduler.ts";
export { cronFor, isValidTimezone, loadSchedules, parseSchedules, parseSchedulesYaml, pingData, ScheduleSchema } from "./schedules.ts";
export type { Schedule } from "./schedules.ts";
export { pingSourcesFromSchedules } from "./pingsource.ts";
export type { PingSourceObject, PingSourceOptions } from "./pingsource.ts";
export { intentFromPing, PingDataSchema, pingSourceName } from "./mapping.ts";
export type { TrainingIntent } from "./intent.ts";

// One layer of the policies file sets only what it names: `.partial()` would still fill each field's default, so a
// model's layer that sets one field would reset every other field the defaults layer set (e.g. the gate's floors).
import * as z from "zod";

/** The same object schema with every default removed and every field optional (strictness kept). */
export function overridesOf(schema: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodOptional> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    shape[key] = (field instanceof z.ZodDefault ? field.removeDefault() : field).optional();
  }
  return z.object(shape).strict();
}

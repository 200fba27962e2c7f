import { z } from "@/lib/zod";

export const templateSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  primary_color: z.string(),
  secondary_color: z.string(),
  font: z.string(),
  interactive: z.boolean(),
});

/** A design as the API describes it. */
export type Template = z.infer<typeof templateSchema>;

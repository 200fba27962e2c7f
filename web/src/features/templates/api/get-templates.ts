import { z } from "@/lib/zod";

import { apiData } from "@/lib/api-client";

import { templateSchema, type Template } from "../types/template";

const templatesSchema = z.object({ templates: z.array(templateSchema) });

/** `GET /api/templates`: every design, in the API's order. */
export async function getTemplates(signal?: AbortSignal): Promise<Template[]> {
  const body = await apiData("/api/templates", templatesSchema, { signal });
  return body.templates;
}

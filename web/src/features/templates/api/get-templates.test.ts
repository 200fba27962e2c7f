import { describe, expect, it } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { getTemplates } from "./get-templates";

describe("templates endpoint", () => {
  it("GET /api/templates", async () => {
    mockFetch(() =>
      json(200, {
        templates: [
          {
            id: "classic",
            name: "Classic Love",
            description: "d",
            primary_color: "#e91e63",
            secondary_color: "#fce4ec",
            font: "Pacifico",
            interactive: false,
          },
        ],
      }),
    );
    const templates = await getTemplates();
    expect(templates.map((t) => t.id)).toEqual(["classic"]);
  });
});

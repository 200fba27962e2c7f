import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { clearTemplatesCache } from "@/features/templates/hooks/use-templates";
import { deferred, json, mockFetch, samplePage, type Call } from "@/testing/http";
import { renderAt } from "@/testing/render";

const TEMPLATE_LIST = [
  ["classic", "Classic Love", false],
  ["modern", "Modern Romance", false],
  ["playful", "Playful Hearts", false],
  ["elegant", "Elegant Script", false],
  ["proposal", "Will You Be Mine?", true],
  ["envelope", "Love Letter", true],
  ["scratch", "Scratch Card", true],
  ["countdown", "Countdown Reveal", true],
] as const;

const templates = {
  templates: TEMPLATE_LIST.map(([id, name, interactive]) => ({
    id,
    name,
    description: `${name} description`,
    primary_color: "#e91e63",
    secondary_color: "#fce4ec",
    font: "Pacifico",
    interactive,
  })),
};

type Handler = (call: Call) => Response | Promise<Response> | undefined;

function api(create: Handler, extra: Handler = () => undefined) {
  clearTemplatesCache();
  return mockFetch((call) => {
    const answer = extra(call);
    if (answer) return answer;
    if (call.url === "/api/templates") return json(200, templates);
    if (call.url.startsWith("/api/slugs/suggest")) return json(200, { suggestions: ["alice-love", "alice-2"] });
    if (call.url.startsWith("/api/slugs/check/")) {
      const slug = decodeURIComponent(call.url.split("/").pop()!);
      return slug === "taken-one"
        ? json(200, { slug, available: false, reason: "This slug is already taken", suggestions: ["taken-one-2"] })
        : json(200, { slug, available: true, reason: null, suggestions: [] });
    }
    if (call.url === "/api/pages" && call.method === "POST") return create(call)!;
    return json(404, { detail: "Not found", code: "not_found" });
  });
}

async function fillEverything(slug = "alice-love") {
  fireEvent.click(await screen.findByTestId("template-option-envelope"));
  fireEvent.click(screen.getByTestId("next-step"));
  fireEvent.change(screen.getByLabelText("Title"), { target: { value: "  Be mine?  " } });
  fireEvent.change(screen.getByLabelText("Message"), { target: { value: "Roses are red 💌" } });
  fireEvent.change(screen.getByLabelText(/^To/), { target: { value: "Alice" } });
  fireEvent.click(screen.getByTestId("next-step"));
  fireEvent.change(await screen.findByTestId("slug-input"), { target: { value: slug } });
}

const created = (call: Call) =>
  json(201, {
    page: { ...samplePage, slug: (call.body as { slug: string }).slug, template_id: "envelope" },
    edit_token: "tok_abc",
    url: "https://valentine.example/alice-love",
  });

describe("the creator at /", () => {
  it("goes from design to words to address and creates the page", async () => {
    const { calls } = api(created);
    renderAt("/");

    // Step 1: the eight designs from the API, the interactive ones marked.
    await screen.findByTestId("template-option-countdown");
    expect(screen.getAllByRole("radio")).toHaveLength(8);
    expect(screen.getAllByText("Interactive")).toHaveLength(4);

    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    expect(screen.getByTestId("slug-status").textContent).toContain("✓");

    fireEvent.click(screen.getByTestId("create-page"));
    expect(await screen.findByTestId("created")).toBeTruthy();

    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({
      slug: "alice-love",
      title: "Be mine?",
      message: "Roses are red 💌",
      recipient_name: "Alice",
      template_id: "envelope",
    });
    expect(post.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);

    const share = screen.getByTestId("share-link") as HTMLInputElement;
    const edit = screen.getByTestId("edit-link") as HTMLInputElement;
    expect(share.value).toBe(`${window.location.origin}/alice-love`);
    expect(edit.value).toBe(`${window.location.origin}/alice-love/edit#token=tok_abc`);
    expect(screen.getByTestId("edit-link-warning").textContent).toMatch(/only way/);
  });

  it("checks the slug as it is typed and offers the API's suggestions", async () => {
    api(created);
    renderAt("/");
    await fillEverything("taken-one");
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("unavailable"));
    expect(screen.getByTestId("slug-status").textContent).toContain("This slug is already taken");
    expect((screen.getByTestId("create-page") as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole("button", { name: "taken-one-2" }));
    expect((screen.getByTestId("slug-input") as HTMLInputElement).value).toBe("taken-one-2");
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
  });

  it("shows the waiting state on a 202 and polls the job until the page is live", async () => {
    const job = deferred<Response>();
    const { calls } = api(
      () =>
        json(202, { job_id: "01JKZ3V6C4QG2T8X5N1M7B9R0D", status: "queued", message: "Saved", edit_token: "tok_q" }),
      (call) => (call.url.startsWith("/api/pages/job/") ? (job.promise as unknown as Response) : undefined),
    );
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    fireEvent.click(screen.getByTestId("create-page"));

    expect(await screen.findByTestId("waiting")).toBeTruthy();
    job.resolve(
      json(200, {
        job_id: "01JKZ3V6C4QG2T8X5N1M7B9R0D",
        status: "finished",
        result: { page: { ...samplePage, slug: "alice-love" }, url: "https://valentine.example/alice-love" },
      }),
    );
    expect(await screen.findByTestId("created")).toBeTruthy();
    expect(calls.some((c) => c.url === "/api/pages/job/01JKZ3V6C4QG2T8X5N1M7B9R0D")).toBe(true);
    expect((screen.getByTestId("edit-link") as HTMLInputElement).value).toContain("#token=tok_q");
    expect(screen.queryByTestId("not-live-yet")).toBeNull();
  });

  it("explains a rate limit with the time to wait", async () => {
    api(() => json(429, { detail: "Too many pages", code: "rate_limited" }, { "Retry-After": "754" }));
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    fireEvent.click(screen.getByTestId("create-page"));
    const error = await screen.findByTestId("create-error");
    expect(error.textContent).toBe("Whoa, that's a lot of love at once! Please try again in 13 minutes.");
  });

  it("sends a retry with the same Idempotency-Key", async () => {
    let attempts = 0;
    const { calls } = api((call) => {
      attempts += 1;
      return attempts === 1 ? json(500, { detail: "Internal server error", code: "internal" }) : created(call);
    });
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    fireEvent.click(screen.getByTestId("create-page"));
    expect((await screen.findByTestId("create-error")).textContent).toBe("Internal server error");
    fireEvent.click(screen.getByTestId("create-page"));
    expect(await screen.findByTestId("created")).toBeTruthy();
    const keys = calls.filter((c) => c.method === "POST").map((c) => c.headers["idempotency-key"]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it("goes back to the address when the slug was taken meanwhile", async () => {
    api(() => json(409, { detail: "This slug is already taken", code: "slug_taken" }));
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    fireEvent.click(screen.getByTestId("create-page"));
    await waitFor(() => expect(screen.getByTestId("slug-status").textContent).toContain("This slug is already taken"));
    expect(screen.getByTestId("step-3")).toBeTruthy();
  });

  it("checks the words before moving on, with counters in characters", async () => {
    api(created);
    renderAt("/");
    fireEvent.click(await screen.findByTestId("next-step"));
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "💌".repeat(101) } });
    expect(screen.getByTestId("title-count").textContent).toContain("101 / 100");
    fireEvent.click(screen.getByTestId("next-step"));
    expect(screen.getByTestId("step-2")).toBeTruthy();
    expect(screen.getByText("Title can be at most 100 characters (this is 101)")).toBeTruthy();
    expect(screen.getByText("Write a message")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByLabelText("Title"));
  });

  it("starts with the address from ?slug=", async () => {
    api(created);
    renderAt("/?slug=for-alice");
    fireEvent.click(await screen.findByTestId("next-step"));
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "Hi" } });
    fireEvent.change(screen.getByLabelText("Message"), { target: { value: "Hello" } });
    fireEvent.click(screen.getByTestId("next-step"));
    expect((screen.getByTestId("slug-input") as HTMLInputElement).value).toBe("for-alice");
  });

  it("sends the optional notification address, checked before it goes", async () => {
    const { calls } = api(created);
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    const email = screen.getByLabelText(/Tell me when it's opened/);
    expect(screen.getByText(/used only for these e-mails and is erased with the page/)).toBeTruthy();

    fireEvent.change(email, { target: { value: "bob@localhost" } });
    fireEvent.click(screen.getByTestId("create-page"));
    expect(screen.getByText("Enter an e-mail address such as alex@example.com")).toBeTruthy();
    expect(document.activeElement).toBe(email);
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    fireEvent.change(email, { target: { value: " bob@example.com " } });
    fireEvent.click(screen.getByTestId("create-page"));
    expect(await screen.findByTestId("created")).toBeTruthy();
    expect(calls.find((c) => c.method === "POST")?.body).toMatchObject({ notify_email: "bob@example.com" });
  });

  it("shows the API's refusal of the address on its field", async () => {
    api(() =>
      json(422, {
        detail: "notify_email is not a valid e-mail address",
        code: "invalid",
        errors: [{ field: "notify_email", message: "notify_email is not a valid e-mail address" }],
      }),
    );
    renderAt("/");
    await fillEverything();
    await waitFor(() => expect(screen.getByTestId("slug-status").dataset.state).toBe("available"));
    fireEvent.change(screen.getByLabelText(/Tell me when it's opened/), { target: { value: "bob@example.com" } });
    fireEvent.click(screen.getByTestId("create-page"));
    expect(await screen.findByText("notify_email is not a valid e-mail address")).toBeTruthy();
    expect(screen.getByTestId("step-3")).toBeTruthy();
  });
});

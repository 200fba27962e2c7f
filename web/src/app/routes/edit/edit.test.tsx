import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";

import { recallToken, rememberToken } from "@/features/pages/utils/edit-token";
import { mockDownloads } from "@/testing/download";
import {
  deferred,
  eventStream,
  json,
  mockFetch,
  sampleExport,
  sampleHistory,
  sampleInsights,
  samplePage,
  type Call,
} from "@/testing/http";
import { renderAt } from "@/testing/render";

const TOKEN = "CCUpzItJt1DXRo2sRDeD_Ld4rqi0efZWlqmvMw79JTk";
const templates = {
  templates: [
    {
      id: "classic",
      name: "Classic Love",
      description: "Timeless",
      primary_color: "#e91e63",
      secondary_color: "#fce4ec",
      font: "Pacifico",
      interactive: false,
    },
    {
      id: "proposal",
      name: "Will You Be Mine?",
      description: "Ask",
      primary_color: "#ec4899",
      secondary_color: "#fdf2f8",
      font: "Pacifico",
      interactive: true,
    },
  ],
};

/** The insights stream every test's editor reads; write to it to change what the editor shows. */
let insights = eventStream();

/** The API as the editor sees it, with the page's token. */
function api(extra: (call: Call) => Response | Promise<Response> | undefined = () => undefined) {
  insights = eventStream();
  return mockFetch((call) => {
    const answer = extra(call);
    if (answer) return answer;
    if (call.url === "/api/templates") return json(200, templates);
    if (call.url === "/api/pages/AliceAndBob/insights/stream") {
      if (call.headers["x-edit-token"] !== TOKEN) return json(403, { detail: "Wrong edit token", code: "wrong_token" });
      return insights.response(call);
    }
    if (call.url.endsWith("/history")) return json(200, sampleHistory);
    if (call.url === "/api/pages/AliceAndBob/export") {
      if (call.headers["x-edit-token"] !== TOKEN) return json(403, { detail: "Wrong edit token", code: "wrong_token" });
      return json(200, sampleExport);
    }
    if (call.url === "/api/pages/AliceAndBob" && call.method === "PATCH") {
      if (call.headers["x-edit-token"] !== TOKEN) return json(403, { detail: "Wrong edit token", code: "wrong_token" });
      return json(200, { ...samplePage, ...(call.body as object), updated_at: new Date().toISOString() });
    }
    if (call.url === "/api/pages/AliceAndBob" && call.method === "DELETE")
      return json(200, { message: "Page deleted successfully" });
    return json(404, { detail: "Not found", code: "not_found" });
  });
}

describe("the editor at /:slug/edit", () => {
  beforeEach(() => {
    window.history.replaceState(null, "", `/AliceAndBob/edit#token=${TOKEN}`);
  });

  it("takes the token from the fragment, keeps it for this tab and clears the address bar", async () => {
    const { calls } = api();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    expect(await screen.findByTestId("editor")).toBeTruthy();
    expect(window.location.hash).toBe("");
    expect(window.location.pathname).toBe("/AliceAndBob/edit");
    expect(recallToken("AliceAndBob")).toBe(TOKEN);
    // The page is read with an empty update, which checks the token and counts no view.
    const load = calls.find((c) => c.url === "/api/pages/AliceAndBob");
    expect(load).toMatchObject({ method: "PATCH", body: {}, headers: { "x-edit-token": TOKEN } });
    expect(calls.some((c) => c.method === "GET" && c.url === "/api/pages/AliceAndBob")).toBe(false);
    expect(await screen.findByTestId("page-history")).toBeTruthy();
  });

  it("works again after a reload, from the remembered token", async () => {
    window.history.replaceState(null, "", "/AliceAndBob/edit");
    rememberToken("AliceAndBob", TOKEN);
    api();
    renderAt("/AliceAndBob/edit");
    expect(await screen.findByTestId("editor")).toBeTruthy();
  });

  it("asks for the link when there is no token at all", async () => {
    window.history.replaceState(null, "", "/AliceAndBob/edit");
    api();
    renderAt("/AliceAndBob/edit");
    expect(await screen.findByTestId("token-needed")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Private edit link"), {
      target: { value: `https://x.example/AliceAndBob/edit#token=${TOKEN}` },
    });
    fireEvent.click(screen.getByTestId("use-token"));
    expect(await screen.findByTestId("editor")).toBeTruthy();
  });

  it("says clearly when the token is wrong", async () => {
    window.history.replaceState(null, "", "/AliceAndBob/edit#token=nope");
    api();
    renderAt("/AliceAndBob/edit#token=nope");
    const rejected = await screen.findByTestId("token-rejected");
    expect(rejected.dataset.status).toBe("403");
    expect(rejected.textContent).toContain("doesn't match this page");
  });

  it("saves only what changed, with the token", async () => {
    const { calls } = api();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    const save = screen.getByTestId("save-page") as HTMLButtonElement;
    expect(save.disabled).toBe(true);

    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "  Be my Valentine  " } });
    fireEvent.change(screen.getByLabelText(/^From/), { target: { value: "" } });
    expect(save.disabled).toBe(false);
    fireEvent.click(save);

    expect(await screen.findByText("Saved! Visitors see the new version now.")).toBeTruthy();
    const patch = calls.filter((c) => c.method === "PATCH").at(-1);
    expect(patch?.body).toEqual({ title: "Be my Valentine", sender_name: null });
    expect(patch?.headers["x-edit-token"]).toBe(TOKEN);
  });

  it("deletes after confirmation and says so", async () => {
    const { calls } = api();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    fireEvent.click(screen.getByTestId("delete-page"));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(screen.getByTestId("confirm-delete"));
    expect(await screen.findByTestId("deleted")).toBeTruthy();
    const del = calls.find((c) => c.method === "DELETE");
    expect(del?.headers["x-edit-token"]).toBe(TOKEN);
    await waitFor(() => expect(recallToken("AliceAndBob")).toBeNull());
  });

  it("downloads the page and every change as a JSON file", async () => {
    const answer = deferred<Response>();
    const { calls } = api((call) => (call.url.endsWith("/export") ? answer.promise : undefined));
    const { downloads } = mockDownloads();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    expect(screen.getByText(/your page as it is now and every change made to it/)).toBeTruthy();
    const button = screen.getByTestId("download-page") as HTMLButtonElement;
    expect(button.textContent).toBe("Download my page");

    fireEvent.click(button);
    expect(button.disabled).toBe(true);
    expect(button.textContent).toContain("Preparing your file");
    const request = calls.find((c) => c.url === "/api/pages/AliceAndBob/export");
    expect(request).toMatchObject({ method: "GET", headers: { "x-edit-token": TOKEN } });
    answer.resolve(json(200, sampleExport));

    await waitFor(() => expect(downloads).toHaveLength(1));
    expect(downloads[0]?.fileName).toBe("valentine-AliceAndBob-2026-12-02.json");
    expect(await downloads[0]?.blob.text()).toBe(`${JSON.stringify(sampleExport, null, 2)}\n`);
    await waitFor(() => expect(button.disabled).toBe(false));
    expect(button.textContent).toBe("Download my page");
    expect(screen.queryByTestId("download-error")).toBeNull();
  });

  it("says so when the download fails, and can try again", async () => {
    let refuse = true;
    api((call) =>
      call.url.endsWith("/export") && refuse
        ? json(503, { detail: "The service is busy; please try again in a moment", code: "unavailable" })
        : undefined,
    );
    const { downloads } = mockDownloads();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");

    fireEvent.click(screen.getByTestId("download-page"));
    const alert = await screen.findByRole("alert");
    expect(alert.dataset.testid).toBe("download-error");
    expect(alert.textContent).toContain("We couldn't download your page");
    expect(alert.textContent).toContain("The service is busy; please try again in a moment");
    expect(downloads).toHaveLength(0);
    expect((screen.getByTestId("download-page") as HTMLButtonElement).disabled).toBe(false);

    refuse = false;
    fireEvent.click(screen.getByTestId("download-page"));
    await waitFor(() => expect(downloads).toHaveLength(1));
    expect(screen.queryByTestId("download-error")).toBeNull();
  });

  it("tells the author when the edit link no longer opens the download", async () => {
    api((call) =>
      call.url.endsWith("/export") ? json(403, { detail: "Wrong edit token", code: "wrong_token" }) : undefined,
    );
    mockDownloads();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    fireEvent.click(screen.getByTestId("download-page"));
    expect((await screen.findByTestId("download-error")).textContent).toContain(
      "Your edit link is no longer accepted for this page.",
    );
  });
});

describe("the editor's insights and notifications", () => {
  beforeEach(() => {
    window.history.replaceState(null, "", `/AliceAndBob/edit#token=${TOKEN}`);
  });

  it("shows the page's insights and follows them live as the page is opened and answered", async () => {
    const { calls } = api();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    const section = await screen.findByTestId("insights-section");
    // The Insights come first, before the page's design and words.
    expect(section.compareDocumentPosition(screen.getByRole("heading", { name: "Design" }))).toBe(
      Node.DOCUMENT_POSITION_FOLLOWING,
    );
    expect(screen.getByTestId("insights-loading")).toBeTruthy();
    await waitFor(() => expect(insights.opened).toBe(1));
    const stream = calls.find((c) => c.url.endsWith("/insights/stream"));
    expect(stream?.headers["x-edit-token"]).toBe(TOKEN);

    insights.event("insights", sampleInsights);
    expect((await screen.findByTestId("insights-opened")).textContent).toContain("Not opened yet");
    expect(screen.getByTestId("insights-answer").textContent).toContain("No answer yet");

    const today = new Date().toISOString().slice(0, 10);
    insights.event("insights", {
      ...sampleInsights,
      first_opened_at: new Date().toISOString(),
      views_total: 1,
      views_by_day: [{ day: today, views: 1 }],
    });
    await waitFor(() => expect(screen.getByTestId("insights-opened").dataset.state).toBe("opened"));
    expect(screen.getByTestId("insights-views").textContent).toContain("1 view");

    insights.event("insights", {
      ...sampleInsights,
      first_opened_at: new Date().toISOString(),
      views_total: 1,
      views_by_day: [{ day: today, views: 1 }],
      answer: { answer: "yes", dodges: 2, answered_at: new Date().toISOString() },
    });
    await waitFor(() =>
      expect(screen.getByTestId("insights-answer").textContent).toContain('Said yes after "No" ran away twice'),
    );
    expect(screen.getByTestId("insights-link").dataset.link).toBe("live");
  });

  it("says so when the insights refuse the edit link", async () => {
    api((call) =>
      call.url.endsWith("/insights/stream")
        ? json(403, { detail: "Wrong edit token", code: "wrong_token" })
        : undefined,
    );
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    expect((await screen.findByTestId("insights-error")).textContent).toContain("no longer accepted");
  });

  it("saves a notification address on its own, and removes it", async () => {
    const { calls } = api();
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    await waitFor(() => expect(insights.opened).toBe(1));
    insights.event("insights", { ...sampleInsights, notify_email: "bob@example.com" });
    const input = screen.getByLabelText(/E-mail for notifications/) as HTMLInputElement;
    await waitFor(() => expect(input.value).toBe("bob@example.com"));
    expect(screen.getByTestId("notifications").textContent).toContain(
      "The address is used only for these e-mails and is erased with the page.",
    );
    const save = screen.getByTestId("save-notify-email") as HTMLButtonElement;
    expect(save.disabled).toBe(true);

    fireEvent.change(input, { target: { value: "bob@example" } });
    fireEvent.click(save);
    expect(screen.getByText("Enter an e-mail address such as alex@example.com")).toBeTruthy();
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(calls.filter((c) => c.method === "PATCH" && "notify_email" in (c.body as object))).toHaveLength(0);

    fireEvent.change(input, { target: { value: "  robert@example.com " } });
    fireEvent.click(save);
    expect((await screen.findByTestId("notify-email-feedback")).textContent).toContain("robert@example.com");
    let patch = calls.filter((c) => c.method === "PATCH").at(-1);
    expect(patch).toMatchObject({ body: { notify_email: "robert@example.com" }, headers: { "x-edit-token": TOKEN } });
    expect(input.value).toBe("robert@example.com");

    fireEvent.click(screen.getByTestId("remove-notify-email"));
    expect((await screen.findByTestId("notify-email-feedback")).textContent).toContain("won't get e-mails");
    patch = calls.filter((c) => c.method === "PATCH").at(-1);
    expect(patch?.body).toEqual({ notify_email: null });
    expect(input.value).toBe("");
    expect(screen.queryByTestId("remove-notify-email")).toBeNull();
  });

  it("shows the API's word on an address it refuses", async () => {
    api((call) =>
      call.method === "PATCH" && (call.body as { notify_email?: string }).notify_email
        ? json(422, {
            detail: "notify_email is not a valid e-mail address",
            code: "invalid",
            errors: [{ field: "notify_email", message: "notify_email is not a valid e-mail address" }],
          })
        : undefined,
    );
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("editor");
    fireEvent.change(screen.getByLabelText(/E-mail for notifications/), { target: { value: "a@b.example" } });
    fireEvent.click(screen.getByTestId("save-notify-email"));
    expect(await screen.findByText("notify_email is not a valid e-mail address")).toBeTruthy();
  });

  it("shows what each change did, and restores an earlier version after asking", async () => {
    const history = {
      ...sampleHistory,
      events: [
        {
          ...sampleHistory.events[0],
          changes: [{ field: "title", before: null, after: "Will you be mine?" }],
        },
        {
          sequence: 2,
          stream_sequence: 5,
          event_type: "PageUpdated",
          occurred_at: "2026-11-26T09:00:00Z",
          changed_fields: ["title", "sender_name"],
          changes: [
            { field: "title", before: "Will you be mine?", after: "Still mine" },
            { field: "sender_name", before: "Bob", after: null },
          ],
        },
      ],
    };
    const { calls } = api((call) => {
      if (call.url.endsWith("/history")) return json(200, history);
      if (call.url === "/api/pages/AliceAndBob/restore") {
        return json(200, { ...samplePage, title: "Will you be mine?", updated_at: "2026-11-27T10:00:00Z" });
      }
      return undefined;
    });
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("page-history");
    const [created, edited] = screen.getAllByTestId("history-event");
    expect(edited!.textContent).toContain("What changed: title, from");
    const changes = within(edited!).getAllByTestId("change");
    expect(changes.map((c) => c.dataset.field)).toEqual(["title", "sender_name"]);
    expect(within(changes[0]!).getByTestId("change-before").textContent).toBe("Will you be mine?");
    expect(within(changes[0]!).getByTestId("change-after").textContent).toBe("Still mine");
    expect(within(changes[1]!).getByText("From")).toBeTruthy();
    // The latest version is the page as it is: only earlier ones can be restored.
    expect(within(edited!).queryByTestId("restore-version")).toBeNull();
    fireEvent.click(within(created!).getByTestId("restore-version"));
    expect(document.activeElement).toBe(screen.getByTestId("confirm-restore"));
    expect(calls.some((c) => c.url.endsWith("/restore"))).toBe(false);
    fireEvent.click(screen.getByTestId("confirm-restore"));
    expect(await screen.findByTestId("restore-feedback")).toBeTruthy();
    expect(calls.find((c) => c.url.endsWith("/restore"))).toMatchObject({
      method: "POST",
      body: { stream_sequence: 2 },
      headers: { "x-edit-token": TOKEN },
    });
    // The history is read again after the restore.
    await waitFor(() => expect(calls.filter((c) => c.url.endsWith("/history"))).toHaveLength(2));
  });

  it("says what went wrong when a restore fails", async () => {
    const history = {
      ...sampleHistory,
      events: [
        ...sampleHistory.events,
        { ...sampleHistory.events[0], sequence: 2, stream_sequence: 5, event_type: "PageUpdated" },
      ],
    };
    api((call) => {
      if (call.url.endsWith("/history")) return json(200, history);
      if (call.url.endsWith("/restore"))
        return json(409, { detail: "This page has reached its limit of changes", code: "too_many_events" });
      return undefined;
    });
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    await screen.findByTestId("page-history");
    fireEvent.click(screen.getByTestId("restore-version"));
    fireEvent.click(screen.getByTestId("confirm-restore"));
    expect((await screen.findByTestId("restore-error")).textContent).toContain("limit of changes");
  });

  it("tells the author, and only the author, that the moderators took the page down", async () => {
    api((call) => {
      if (call.url === "/api/pages/AliceAndBob" && call.method === "PATCH") {
        return json(200, { ...samplePage, taken_down: { at: "2026-12-01T10:00:00Z", reason: "Spam links" } });
      }
      return undefined;
    });
    renderAt(`/AliceAndBob/edit#token=${TOKEN}`);
    const banner = await screen.findByTestId("taken-down-banner");
    expect(banner.textContent).toContain("taken down by its moderators");
    expect(banner.textContent).toContain("Spam links");
    expect(banner.textContent).toContain("Only you can see it now");
  });
});

import { fireEvent, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";

import { recallToken, rememberToken } from "@/features/pages/utils/edit-token";
import { mockDownloads } from "@/testing/download";
import { deferred, json, mockFetch, sampleExport, sampleHistory, samplePage, type Call } from "@/testing/http";
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

/** The API as the editor sees it, with the page's token. */
function api(extra: (call: Call) => Response | Promise<Response> | undefined = () => undefined) {
  return mockFetch((call) => {
    const answer = extra(call);
    if (answer) return answer;
    if (call.url === "/api/templates") return json(200, templates);
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

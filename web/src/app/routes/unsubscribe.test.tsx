import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { beforeEach, describe, expect, it } from "vitest";

import { routes } from "@/app/router";
import { json, mockFetch } from "@/testing/http";
import { renderAt } from "@/testing/render";

const LINK = "/AliceAndBob/unsubscribe#token=unsub_tok-1";
const done = () => json(200, { message: "You won't get more e-mails about this page" });

describe("the unsubscribe link at /:slug/unsubscribe", () => {
  beforeEach(() => {
    window.history.replaceState(null, "", LINK);
  });

  it("stops the e-mails once, with the token from the fragment, and clears the address bar", async () => {
    const { calls } = mockFetch(done);
    // Strict mode runs effects twice: the link must still be used only once.
    const router = createMemoryRouter(routes, { initialEntries: [LINK] });
    render(
      <StrictMode>
        <RouterProvider router={router} />
      </StrictMode>,
    );
    expect(screen.getByTestId("unsubscribe").dataset.state).toBe("working");
    await waitFor(() => expect(screen.getByTestId("unsubscribe").dataset.state).toBe("done"));
    // The heading's hyphen never breaks its line: "e\u2011mails".
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe(
      "You won't get more e\u2011mails about this page",
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/pages/AliceAndBob/unsubscribe?token=unsub_tok-1" });
    expect(window.location.hash).toBe("");
  });

  it("still says so after a reload, without posting again", async () => {
    const { calls } = mockFetch(done);
    const first = renderAt(LINK);
    await waitFor(() => expect(screen.getByTestId("unsubscribe").dataset.state).toBe("done"));
    first.unmount();
    renderAt("/AliceAndBob/unsubscribe");
    expect(screen.getByTestId("unsubscribe").dataset.state).toBe("done");
    expect(calls).toHaveLength(1);
  });

  it("explains a link that is not, or no longer, valid", async () => {
    mockFetch(() => json(403, { detail: "This link is not valid", code: "wrong_token" }));
    renderAt(LINK);
    await waitFor(() => expect(screen.getByTestId("unsubscribe").dataset.state).toBe("invalid"));
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("This link doesn't work");
  });

  it("says when the page itself is gone", async () => {
    mockFetch(() => json(404, { detail: "Page not found", code: "not_found" }));
    renderAt(LINK);
    await waitFor(() => expect(screen.getByTestId("unsubscribe").dataset.state).toBe("gone"));
  });

  it("asks for the whole link when the token is missing, and posts nothing", async () => {
    const { calls } = mockFetch(done);
    renderAt("/AliceAndBob/unsubscribe");
    expect(screen.getByTestId("unsubscribe").dataset.state).toBe("incomplete");
    expect(calls).toHaveLength(0);
  });

  it("offers to try again after an outage", async () => {
    let attempt = 0;
    const { calls } = mockFetch(() => {
      attempt += 1;
      return attempt === 1 ? json(503, { detail: "The service is busy", code: "unavailable" }) : done();
    });
    renderAt(LINK);
    fireEvent.click(await screen.findByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getByTestId("unsubscribe").dataset.state).toBe("done"));
    expect(calls).toHaveLength(2);
  });
});

import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { json, mockFetch } from "@/testing/http";

import { ReportDialog } from "./report-dialog";

function open(onClose = vi.fn()) {
  render(<ReportDialog slug="AliceAndBob" onClose={onClose} />);
  return onClose;
}

describe("the report dialog", () => {
  it("sends the reason and the note, then thanks", async () => {
    const { calls } = mockFetch(() => json(202, { status: "received" }));
    open();
    expect(screen.getByRole("dialog", { name: "Report this page" })).toBeTruthy();
    // Focus starts on the first reason.
    expect(document.activeElement).toBe(screen.getByTestId("report-reason-spam"));
    fireEvent.click(screen.getByLabelText("Hateful content"));
    fireEvent.change(screen.getByTestId("report-note"), { target: { value: "  slurs in the message  " } });
    fireEvent.click(screen.getByTestId("send-report"));
    expect(await screen.findByTestId("report-sent")).toBeTruthy();
    expect(calls).toEqual([
      expect.objectContaining({
        method: "POST",
        url: "/api/pages/AliceAndBob/report",
        body: { reason: "hate", note: "slurs in the message" },
      }),
    ]);
  });

  it("leaves an empty note out", async () => {
    const { calls } = mockFetch(() => json(202, { status: "received" }));
    open();
    fireEvent.click(screen.getByLabelText("Spam or advertising"));
    fireEvent.click(screen.getByTestId("send-report"));
    await screen.findByTestId("report-sent");
    expect(calls[0]?.body).toEqual({ reason: "spam" });
  });

  it("asks for a reason before sending anything", () => {
    const { calls } = mockFetch(() => json(202, { status: "received" }));
    open();
    fireEvent.click(screen.getByTestId("send-report"));
    expect(screen.getByTestId("report-error").textContent).toContain("choose what is wrong");
    expect(calls).toHaveLength(0);
  });

  it("counts the note's characters and refuses one too long", () => {
    const { calls } = mockFetch(() => json(202, { status: "received" }));
    open();
    fireEvent.click(screen.getByLabelText("Something else"));
    fireEvent.change(screen.getByTestId("report-note"), { target: { value: "💌".repeat(12) } });
    expect(screen.getByText(/^12 \/ 500/)).toBeTruthy();
    fireEvent.change(screen.getByTestId("report-note"), { target: { value: "x".repeat(501) } });
    expect(screen.getByTestId("report-note").getAttribute("aria-invalid")).toBe("true");
    fireEvent.click(screen.getByTestId("send-report"));
    expect(screen.getByTestId("report-error").textContent).toContain("500 characters");
    expect(calls).toHaveLength(0);
  });

  it("says when to try again after too many reports", async () => {
    mockFetch(() => json(429, { detail: "Too many requests", code: "rate_limited" }, { "Retry-After": "120" }));
    open();
    fireEvent.click(screen.getByLabelText("Spam or advertising"));
    fireEvent.click(screen.getByTestId("send-report"));
    expect((await screen.findByTestId("report-error")).textContent).toContain("try again in 2 minutes");
    // The form stays, to send again later.
    expect(screen.getByTestId("send-report")).toBeTruthy();
  });

  it("says so when the page is down already", async () => {
    mockFetch(() => json(451, { detail: "This page was taken down", code: "taken_down" }));
    open();
    fireEvent.click(screen.getByLabelText("Spam or advertising"));
    fireEvent.click(screen.getByTestId("send-report"));
    expect((await screen.findByTestId("report-error")).textContent).toContain("taken down already");
  });

  it("closes on Escape and on Cancel", () => {
    mockFetch(() => json(202, { status: "received" }));
    const onClose = open();
    fireEvent.keyDown(document, { key: "Escape" });
    expect(onClose).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onClose).toHaveBeenCalledTimes(2);
  });
});

import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { TEMPLATE_IDS } from "@/config/designs";

import { COUNTDOWN_SECONDS } from "./countdown-design";
import { LivePreview } from "./live-preview";
import { PageDesign } from "./page-design";
import type { DesignContent } from "./types";

const content: DesignContent = {
  title: "Will you be mine?",
  message: "Every day with you\nis my favourite day.",
  sender_name: "Bob",
  recipient_name: "Alice",
};

const revealed = () => screen.queryByTestId("revealed-message");

describe("PageDesign", () => {
  it.each(TEMPLATE_IDS)("%s shows the title and, once revealed, the message with its line breaks", (id) => {
    render(<PageDesign content={content} templateId={id} startRevealed />);
    expect(screen.getByTestId("page-design")).toHaveProperty("dataset.template", id);
    expect(screen.getByRole("heading", { level: 1 }).textContent).toContain("Will you be mine?");
    expect(revealed()?.textContent).toBe("Every day with you\nis my favourite day.");
  });

  it.each(["classic", "modern", "playful", "elegant"])("%s shows the message at once", (id) => {
    render(<PageDesign content={content} templateId={id} />);
    expect(revealed()).not.toBeNull();
    expect(screen.getByTestId("page-from").textContent).toContain("Bob");
    expect(screen.getByTestId("page-to").textContent).toContain("Alice");
  });

  it.each(["proposal", "envelope", "scratch", "countdown"])("%s hides the message until its game is played", (id) => {
    render(<PageDesign content={content} templateId={id} />);
    expect(revealed()).toBeNull();
  });

  it("renders user text as text, never as markup", () => {
    const { container } = render(
      <PageDesign
        content={{ ...content, title: "<b>bold</b>", message: '<img src=x onerror="alert(1)">' }}
        templateId="classic"
      />,
    );
    expect(container.querySelector("b, img")).toBeNull();
    expect(screen.getByRole("heading").textContent).toBe("<b>bold</b>");
    expect(revealed()?.textContent).toBe('<img src=x onerror="alert(1)">');
  });

  it("leaves out the names that are not given", () => {
    render(<PageDesign content={{ ...content, sender_name: null, recipient_name: null }} templateId="classic" />);
    expect(screen.queryByTestId("page-from")).toBeNull();
    expect(screen.queryByTestId("page-to")).toBeNull();
  });

  it("falls back to the classic look for an id it does not know", () => {
    render(<PageDesign content={content} templateId="unknown" />);
    expect(screen.getByTestId("page-design")).toHaveProperty("dataset.template", "classic");
  });

  it("uses a level-2 heading inside a preview", () => {
    render(<PageDesign content={content} templateId="modern" variant="preview" />);
    expect(screen.getByRole("heading", { level: 2 })).toBeTruthy();
    expect(screen.queryByRole("heading", { level: 1 })).toBeNull();
  });
});

describe("proposal", () => {
  it("moves No away on every try, grows Yes, and never takes No for an answer", () => {
    vi.useFakeTimers();
    render(<PageDesign content={content} templateId="proposal" />);
    const yes = screen.getByRole("button", { name: "Yes" });
    const no = screen.getByTestId("proposal-no");
    expect(yes.style.getPropertyValue("--yes-scale")).toBe("1");

    fireEvent.click(no);
    vi.advanceTimersByTime(400);
    fireEvent.pointerDown(no, { pointerType: "touch", clientX: 10, clientY: 10 });
    vi.advanceTimersByTime(400);
    fireEvent.pointerEnter(no, { pointerType: "mouse", clientX: 10, clientY: 10 });

    expect(no.dataset.dodges).toBe("3");
    expect(Number(yes.style.getPropertyValue("--yes-scale"))).toBeGreaterThan(1.4);
    expect(no.textContent).not.toBe("No");
    expect(revealed()).toBeNull();
  });

  it("counts a touch's pointerdown and its click as one dodge", () => {
    vi.useFakeTimers();
    render(<PageDesign content={content} templateId="proposal" />);
    const no = screen.getByTestId("proposal-no");
    fireEvent.pointerDown(no, { pointerType: "touch" });
    vi.advanceTimersByTime(100);
    fireEvent.click(no);
    expect(no.dataset.dodges).toBe("1");
  });

  it("celebrates Yes and reveals the message", () => {
    const onReveal = vi.fn();
    render(<PageDesign content={content} templateId="proposal" onReveal={onReveal} />);
    fireEvent.click(screen.getByRole("button", { name: "Yes" }));
    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();
    expect(revealed()).not.toBeNull();
    expect(onReveal).toHaveBeenCalledTimes(1);
  });
});

describe("envelope", () => {
  it("opens on click and shows the letter", () => {
    const onReveal = vi.fn();
    render(<PageDesign content={content} templateId="envelope" onReveal={onReveal} />);
    const envelope = screen.getByRole("button", { name: "Open the letter" });
    expect(envelope.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(envelope);
    expect(revealed()).not.toBeNull();
    expect(screen.getByTestId("envelope-open").getAttribute("aria-expanded")).toBe("true");
    fireEvent.click(screen.getByTestId("envelope-open"));
    expect(onReveal).toHaveBeenCalledTimes(1);
  });
});

describe("scratch", () => {
  it("keeps the message covered, then reveals it without scratching on request", () => {
    render(<PageDesign content={content} templateId="scratch" />);
    expect(screen.getByTestId("scratch-canvas")).toBeTruthy();
    expect(screen.getByTestId("hidden-message").closest("[aria-hidden=true]")).not.toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Reveal without scratching" }));
    expect(revealed()?.textContent).toBe(content.message);
    expect(screen.queryByRole("button", { name: "Reveal without scratching" })).toBeNull();
  });
});

describe("countdown", () => {
  it("counts down from ten and then reveals", async () => {
    vi.useFakeTimers();
    const onReveal = vi.fn();
    render(<PageDesign content={content} templateId="countdown" onReveal={onReveal} />);
    expect(screen.getByTestId("countdown-number").textContent).toBe(String(COUNTDOWN_SECONDS));
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(screen.getByTestId("countdown-number").textContent).toBe("7");
    expect(revealed()).toBeNull();
    await act(() => vi.advanceTimersByTimeAsync(7000));
    expect(revealed()).not.toBeNull();
    expect(onReveal).toHaveBeenCalledTimes(1);
  });

  it("can be skipped", () => {
    render(<PageDesign content={content} templateId="countdown" />);
    fireEvent.click(screen.getByRole("button", { name: "Skip the wait" }));
    expect(revealed()).not.toBeNull();
  });
});

describe("replies", () => {
  it("a preview sends none: no heart to send, and Yes only celebrates", () => {
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    const { unmount } = render(
      <LivePreview templateId="proposal" title="Hi" message="Hello" senderName="Bob" recipientName="Alice" />,
    );
    fireEvent.click(screen.getByTestId("play-preview"));
    fireEvent.click(screen.getByRole("button", { name: "Yes" }));
    expect(screen.getByTestId("proposal-celebration")).toBeTruthy();
    expect(screen.queryByTestId("proposal-reply")).toBeNull();
    unmount();

    render(<LivePreview templateId="classic" title="Hi" message="Hello" senderName="" recipientName="" />);
    expect(screen.queryByTestId("heart-reply")).toBeNull();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it.each([
    ["envelope", "Seal a heart back"],
    ["scratch", "Send a heart back"],
    ["countdown", "Send a heart back"],
    ["elegant", "Send a heart back"],
  ])("%s offers its heart only once the message shows: %s", (id, label) => {
    const send = vi.fn();
    render(<PageDesign content={content} templateId={id} reply={{ status: { state: "ready" }, send }} />);
    const revealedAtOnce = revealed() !== null;
    expect(screen.queryByRole("button", { name: new RegExp(label) }) !== null).toBe(revealedAtOnce);
    if (id === "envelope") fireEvent.click(screen.getByTestId("envelope-open"));
    if (id === "scratch") fireEvent.click(screen.getByTestId("scratch-reveal"));
    if (id === "countdown") fireEvent.click(screen.getByTestId("countdown-skip"));
    fireEvent.click(screen.getByRole("button", { name: new RegExp(label) }));
    expect(send).toHaveBeenCalledWith(0);
  });

  it("opens an interactive design at once for a visitor who already replied", () => {
    render(
      <PageDesign
        content={content}
        templateId="scratch"
        reply={{ status: { state: "sent", already: false }, send: vi.fn() }}
      />,
    );
    expect(revealed()).not.toBeNull();
    expect(screen.getByTestId("heart-sent").textContent).toBe("Heart sent ♥");
  });
});

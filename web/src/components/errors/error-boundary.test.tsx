import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { ErrorBoundary } from "./error-boundary";
import { ErrorFallback } from "./error-fallback";

function Fragile({ broken }: { broken: boolean }) {
  if (broken) throw new Error("the heart cracked");
  return <p>all well</p>;
}

function Harness() {
  const [broken, setBroken] = useState(true);
  return (
    <ErrorBoundary
      fallback={({ error, reset }) => (
        <ErrorFallback
          error={error}
          reset={() => {
            setBroken(false);
            reset();
          }}
        />
      )}
    >
      <Fragile broken={broken} />
    </ErrorBoundary>
  );
}

describe("ErrorBoundary", () => {
  it("shows the friendly fallback instead of a crashed tree, and recovers on retry", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    render(<Harness />);
    const fallback = screen.getByTestId("error-fallback");
    expect(fallback.textContent).toContain("Oh no, a little heartbreak");
    // Tests run as a development build, where the details are shown.
    expect(fallback.textContent).toContain("the heart cracked");
    fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(screen.getByText("all well")).toBeTruthy();
  });

  it("keeps the crash inside the boundary", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    render(
      <div>
        <p>outside</p>
        <ErrorBoundary fallback={() => <p>fallback</p>}>
          <Fragile broken />
        </ErrorBoundary>
      </div>,
    );
    expect(screen.getByText("outside")).toBeTruthy();
    expect(screen.getByText("fallback")).toBeTruthy();
  });
});

import { useEffect, useState, type RefObject } from "react";

import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { NotifyEmailField } from "@/features/pages/components/notify-email-field";
import type { PageContent } from "@/features/pages/types/page";
import { suggestSlugs } from "@/features/slugs/api/suggest-slugs";
import { SlugField } from "@/features/slugs/components/slug-field";
import { useSlugCheck, type SlugStatus } from "@/features/slugs/hooks/use-slug-check";

type StepAddressProps = {
  headingRef: RefObject<HTMLHeadingElement | null>;
  content: PageContent;
  slug: string;
  onSlugChange: (slug: string) => void;
  /** The API refused this slug on create (taken since it was checked). */
  conflict: { slug: string; reason: string } | null;
  notifyEmail: string;
  onNotifyEmailChange: (value: string) => void;
  notifyEmailError: string | null;
  creating: boolean;
  error: string | null;
  onBack: () => void;
  onCreate: () => void;
};

/** Step 3: where the page will live, checked as it is typed; then create it. */
export function StepAddress({
  headingRef,
  content,
  slug,
  onSlugChange,
  conflict,
  notifyEmail,
  onNotifyEmailChange,
  notifyEmailError,
  creating,
  error,
  onBack,
  onCreate,
}: StepAddressProps) {
  const { status: checked, recheck } = useSlugCheck(slug);
  const ideas = useIdeas(content);

  // A create refused the slug: ask again, so the answer brings fresh suggestions.
  useEffect(() => {
    if (conflict) recheck();
  }, [conflict, recheck]);

  const status: SlugStatus =
    conflict && conflict.slug === slug && (checked.state === "available" || checked.state === "checking")
      ? { state: "unavailable", slug, reason: conflict.reason, suggestions: [] }
      : checked;
  const blocked = slug === "" || status.state === "unavailable";

  return (
    <div className="step" data-testid="step-3">
      <h2 className="step-title" ref={headingRef} tabIndex={-1}>
        Choose its address
      </h2>
      <p className="step-lead">This is the link you'll share. Anyone with it can see the page.</p>
      <form
        className="address-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (!blocked) onCreate();
        }}
      >
        <SlugField
          value={slug}
          onChange={onSlugChange}
          status={status}
          prefix={`${window.location.host}/`}
          ideas={slug === "" ? ideas : []}
          onSubmit={() => !blocked && onCreate()}
        />
        <NotifyEmailField
          id="notify-email"
          label="Tell me when it's opened"
          hint="Leave your e-mail to get one mail when your page is first opened, and one when it is answered."
          value={notifyEmail}
          onChange={onNotifyEmailChange}
          error={notifyEmailError}
        />
        {error && (
          <Notice tone="error" testId="create-error">
            {error}
          </Notice>
        )}
        <div className="step-actions">
          <button type="button" className="button button--ghost" onClick={onBack} data-testid="previous-step">
            Back
          </button>
          <button
            type="submit"
            className="button button--primary"
            disabled={blocked || creating}
            aria-disabled={blocked || creating}
            data-testid="create-page"
          >
            {creating ? (
              <>
                <Spinner label="Creating" /> Creating…
              </>
            ) : (
              "Create my page"
            )}
          </button>
        </div>
      </form>
    </div>
  );
}

/** A few free addresses made from the names or the title, offered before anything is typed. */
function useIdeas(content: PageContent): string[] {
  const [ideas, setIdeas] = useState<string[]>([]);
  const base =
    [content.recipient_name, content.sender_name]
      .map((s) => s.trim())
      .filter(Boolean)
      .join(" and ") || content.title.trim();
  useEffect(() => {
    if (base === "") return;
    const controller = new AbortController();
    suggestSlugs(base.slice(0, 60), 4, controller.signal).then(
      (found) => setIdeas(found),
      () => setIdeas([]),
    );
    return () => controller.abort();
  }, [base]);
  return ideas;
}

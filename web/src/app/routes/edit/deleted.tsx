import { Link } from "react-router";

import { Emblem } from "@/components/ui/emblem";
import { paths } from "@/config/paths";

/** After a delete: the page is gone and its address is free again. */
export function Deleted({ slug }: { slug: string }) {
  return (
    <section className="panel panel--center" data-testid="deleted">
      <Emblem kind="broken-heart" />
      <h1 className="screen-title">Your page has been deleted</h1>
      <p>
        <strong className="nowrap">/{slug}</strong> no longer shows anything, and its edit link no longer works.
      </p>
      <div className="button-row button-row--center">
        <Link className="button button--primary" to={paths.home()}>
          Make a new valentine
        </Link>
      </div>
    </section>
  );
}

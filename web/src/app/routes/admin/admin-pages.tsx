import { useCallback } from "react";
import { useSearchParams } from "react-router";

import { paths } from "@/config/paths";
import { PageSearch } from "@/features/admin/components/page-search";

/** `/admin?q=`: pages by slug prefix. */
export function AdminPagesRoute() {
  const [params, setParams] = useSearchParams();
  const query = params.get("q") ?? "";
  const onQuery = useCallback((q: string) => setParams(q === "" ? {} : { q }, { replace: true }), [setParams]);
  return <PageSearch query={query} onQuery={onQuery} pageLink={paths.adminPage} />;
}

// A page named in the navigation before it is built (none now), or an unknown path.
import * as state from "../state.js";
import { h } from "../ui.js";

const PLANS = {};

export function mount(root, { path }) {
  const [title, text] = PLANS[path] || ["Not found", "There is no such page."];
  root.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, title)),
    h("section", { class: "card notice", "data-testid": "coming-soon" },
      h("h2", {}, "Coming soon"), h("p", {}, text),
      h("p", {}, "Meanwhile: ", h("a", { href: state.hrefFor("/explore") }, "Explore"), " the traffic or query it in ",
        h("a", { href: state.hrefFor("/sql") }, "SQL"), ".")));
  return { title, load: async () => {} };
}

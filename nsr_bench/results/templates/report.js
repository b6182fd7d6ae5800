// Click (or Enter on) a table header to sort its rows by that column, again to reverse: numbers (a
// cell's leading number, so "0.68 ± 0.28" sorts by 0.68) as numbers, other text in natural order;
// blank and "-" cells last either way. The columns that name a row (class "key") stay in view when a wide
// table scrolls sideways: each is stuck at the widths of the key columns before it.
(function () {
  const leading = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i;
  const blank = (text) => text === "" || text === "-";
  function compare(a, b, direction) {
    if (blank(a) || blank(b)) return blank(a) - blank(b);
    const x = leading.exec(a), y = leading.exec(b);
    if (x && y) return direction * (parseFloat(x[0]) - parseFloat(y[0]));
    if (x || y) return x ? -1 : 1;
    return direction * a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }
  for (const table of document.querySelectorAll("table.sortable")) {
    const headers = Array.from(table.tHead.rows[0].cells);
    let left = 0;
    headers.filter((th) => th.classList.contains("key")).forEach((th) => {
      for (const row of table.rows) row.cells[th.cellIndex].style.left = left + "px";
      left += th.offsetWidth;
    });
    headers.forEach((th, column) => {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      const sort = () => {
        const direction = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        headers.forEach((h) => h.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
        const body = table.tBodies[0];
        const text = (row) => row.cells[column].textContent.trim();
        body.append(...Array.from(body.rows).sort((r, s) => compare(text(r), text(s), direction)));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }
})();

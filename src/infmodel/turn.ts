// The infinitesimal model's fits run for minutes to hours at biobank sizes,
// one operator pass after another: between passes they hand the event loop
// a turn, so that a SIGINT or SIGTERM handler (the CLI's clean stop) and
// progress bars run while they work.

/** Resolves on the event loop's next turn (a timer: it exists in Node and in browsers). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

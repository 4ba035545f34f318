// Importing this module lets backend selection (`getBackend`, `loadBackend`,
// `availableBackends`) load the native backend. lmmkit/node and the CLI
// import it before anything else, so that the first `getBackend()` sees it;
// the browser-safe entry does not, and runs the js backend.
import { registerNativeLoader } from '../select.js';
import { loadNativeKernels } from './load.js';

registerNativeLoader(loadNativeKernels);

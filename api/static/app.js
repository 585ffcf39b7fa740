// The chat page: wires its parts together. Each part is its own module: chat.js (the
// conversation), answers.js (how replies look), scope.js (the chosen collection and
// filter), collections.js (the picker), filters.js and conditions.js (the filter panel),
// documents.js (the list and the status line), upload.js (adding documents), key.js
// (the API key).

import { focusQuestion, initChat, restoreConversation } from "./chat.js";
import { initCollections, refreshCollections } from "./collections.js";
import { initDocuments, refreshDocuments, refreshHealth } from "./documents.js";
import { initFilters } from "./filters.js";
import { initKey } from "./key.js";
import { initUpload } from "./upload.js";

initChat();
initKey();
initCollections();
initFilters();
initDocuments({ afterDelete: focusQuestion });
initUpload();

restoreConversation();
refreshHealth();
refreshCollections();
refreshDocuments();

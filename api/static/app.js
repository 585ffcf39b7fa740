// The chat page: wires its parts together. Each part is its own module: chat.js (the
// conversation), answers.js (how replies look), documents.js (the list and the status
// line), upload.js (adding documents), key.js (the API key for writes).

import { focusQuestion, initChat, restoreConversation } from "./chat.js";
import { initDocuments, refreshDocuments, refreshHealth } from "./documents.js";
import { initKey } from "./key.js";
import { initUpload } from "./upload.js";

initChat();
initKey();
initDocuments({ afterDelete: focusQuestion });
initUpload();

restoreConversation();
refreshHealth();
refreshDocuments();

#!/bin/sh
# Put openretina-data in the desktop's application menu (for this user only).
#   ./install-desktop-entry.sh            run from the unpacked openretina-data folder
# Writes ~/.local/share/applications/openretina-data-wizard.desktop (pointing at this
# folder: run it again if you move the folder) and the icon into ~/.local/share/icons.
set -eu
APP_DIR=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps"
sed "s|@APP_DIR@|$APP_DIR|g" "$APP_DIR/openretina-data-wizard.desktop" \
    >"$DATA/applications/openretina-data-wizard.desktop"
cp "$APP_DIR/openretina-data.svg" "$DATA/icons/hicolor/scalable/apps/openretina-data.svg"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" || true
echo "installed: $DATA/applications/openretina-data-wizard.desktop"

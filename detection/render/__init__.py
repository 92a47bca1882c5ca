"""The demo-footage renderer: screens of ../shared/spec/demo-game.md, with exact ground truth.

Plain Python (PIL, numpy, ffmpeg); no Django. `make_dataset` writes YOLO training
frames; `render_session` (session.py) writes an OBS-like MKV and its `.truth.json`.

Box contract (what the detector learns; every box lies inside its spec region):
- stash_screen: the header bar holding STASH and the CHARACTER / TRADERS / FLEA MARKET tabs.
- character_select: the panel holding CHOOSE YOUR CHARACTER and both PMC and SCAV buttons
  (the ink of those when the style draws no panel).
- map_select: SELECT LOCATION plus the large map name (their panel if drawn). The PVE
  checkbox is not in this box; it stays in its own region (0.40, 0.70, 0.60, 0.80),
  where the pipeline reads its pixels.
- queue_timer: the panel with SEARCHING FOR MATCH, the elapsed timer and ESTIMATED TIME.
- match_found: the panel with MATCH FOUND and DEPLOYING IN: N.
- loading_screen: LOADING LOCATION DATA... together with its progress bar.
- gameplay_hud: the bottom strip group from HP/SHIELD (left) to the ammo counter (right).
- kill_notification: the notification box: ELIMINATED, enemy and weapon, HEADSHOT if any.
- survived_screen / death_screen / mia_screen: the central panel with all its text.
- post_raid_screen: the RAID SUMMARY panel including the KILL LIST table.
A raid frame may carry both gameplay_hud and kill_notification.

Style families (families.py) whose titles sit "apart" paint a screen's title outside its
key element's region; the box is then the key element's block alone (the PMC / SCAV
buttons, the map name, the timer). Only training families ever reach a dataset.
"""

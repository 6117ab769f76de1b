# Drawn scenes for training the tiny scenes model, as tools/make_scenes.py writes them:
#   python tools/make_scenes.py data/scenes --num-images 20000 --seed 100 --split train2014 --outputs pretrain instruct
#   data/scenes/instruct.json                          LLaVA-Instruct schema (mix665k-like multi-turn conversations)
#   data/scenes/pretrain.json                          LCS-558K schema (short captions)
#   data/scenes/annotations/scenes_train2014.json      what was drawn (read by the vision stage)
#   data/scenes/train2014/COCO_train2014_*.jpg
data_root = 'data/scenes'

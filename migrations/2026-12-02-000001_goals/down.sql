DROP TABLE goal_progress;
DROP TABLE action_items;
DROP TABLE goals;

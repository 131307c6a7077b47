//! What kind of account a name belongs to, and the task types a dataset can have.

text_enum! {
    /// Users and organizations share one namespace of names (SPEC 1).
    pub enum AccountKind {
        User = "user",
        Org = "org",
    }
}

text_enum! {
    /// The labeling task of a dataset. The values are those of the Segments.ai API.
    pub enum TaskType {
        SegmentationBitmap = "segmentation-bitmap",
        Bboxes = "bboxes",
        Vector = "vector",
        Keypoints = "keypoints",
        PointcloudCuboid = "pointcloud-cuboid",
        PointcloudSegmentation = "pointcloud-segmentation",
        TextNamedEntities = "text-named-entities",
    }
}

impl TaskType {
    /// The task type a new dataset gets unless told otherwise (the SDK's default too).
    pub const DEFAULT: TaskType = TaskType::SegmentationBitmap;

    pub fn label(self) -> &'static str {
        match self {
            TaskType::SegmentationBitmap => "Segmentation (bitmap)",
            TaskType::Bboxes => "Bounding boxes",
            TaskType::Vector => "Vector shapes",
            TaskType::Keypoints => "Keypoints",
            TaskType::PointcloudCuboid => "Point cloud cuboids",
            TaskType::PointcloudSegmentation => "Point cloud segmentation",
            TaskType::TextNamedEntities => "Text named entities",
        }
    }
}

impl std::fmt::Display for TaskType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
